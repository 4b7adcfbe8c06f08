import CRTAuthGatewayConfiguration
import Configuration
import Foundation

/// The gateway's configuration file (`crtauth serve --config`): the first byte picks JSON (even)
/// or YAML (odd), the rest is the file, read as the gateway reads it. Reading fails with
/// ``GatewayConfigurationError`` or gives settings that each read as their kind or fail with it.
let configTargets: [FuzzTarget] = [
    FuzzTarget(name: "gateway-config") { bytes in
        guard let format = bytes.first else { return }
        let path = format & 1 == 0 ? ConfigFile.json : ConfigFile.yaml
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes.dropFirst())) else { return }
        runBlocking {
            do {
                let configuration = try await GatewayConfiguration(flags: [:], environment: [:], file: path)
                for option in GatewayOption.all {
                    do {
                        guard let (content, _) = try configuration.value(option) else { continue }
                        switch (option.kind, content) {
                        case (.text, .string), (.number, .int), (.list, .stringArray): break
                        default: require(false, "\(option.name) read as \(content), not \(option.kind)")
                        }
                    } catch {
                        require(error is GatewayConfigurationError, "\(option.name): an untyped error \(type(of: error)): \(error)")
                    }
                }
            } catch {
                require(error is GatewayConfigurationError, "an untyped error \(type(of: error)): \(error)")
            }
        }
    },
]

/// Where the target writes each input (the reader takes a path and picks the format by its
/// extension); one pair per process.
enum ConfigFile {
    static let json = NSTemporaryDirectory() + "/crtauth-fuzz-config-\(getpid()).json"
    static let yaml = NSTemporaryDirectory() + "/crtauth-fuzz-config-\(getpid()).yaml"
}
