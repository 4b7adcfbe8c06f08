import Configuration
import Foundation
import SystemPackage
import Yams

/// The settings of `crtauth serve` as they were given — flags, `CRTAUTH_*` variables, a
/// configuration file — looked up by precedence through swift-configuration's providers, one
/// source at a time so that a value of the wrong type is an error naming where it came from
/// (swift-configuration's reader would fall back to the next source silently).
public struct GatewayConfiguration: Sendable {
    /// Where a value came from, for errors and `--print-config`.
    public enum Source: Sendable, CustomStringConvertible {
        case flag(String), environment(String), file(key: String, path: String)

        public var description: String {
            switch self {
            case .flag(let flag): "flag \(flag)"
            case .environment(let variable): variable
            case .file(let key, let path): "\(key) in \(path)"
            }
        }
    }

    private struct Layer: Sendable {
        let provider: any ConfigProvider
        let source: @Sendable (GatewayOption) -> Source
    }

    private let layers: [Layer]

    /// - Parameters:
    ///   - flags: the options given on the command line.
    ///   - environment: the process's variables (empty ones count as unset).
    ///   - file: a `.json`, `.yaml` or `.yml` file; a key it holds that is no setting is an error.
    public init(flags: [GatewayOption: ConfigContent], environment: [String: String], file: String?) async throws {
        var layers = [Layer(
            provider: InMemoryProvider(name: "flags", values: Dictionary(uniqueKeysWithValues: flags.map { ($0.key.key, ConfigValue($0.value, isSecret: false)) })),
            source: { .flag($0.flag) })]
        let variables = environment.filter { $0.key.hasPrefix("CRTAUTH_") && !$0.value.isEmpty }
        layers.append(Layer(provider: EnvironmentVariablesProvider(environmentVariables: variables).prefixKeys(with: "crtauth"), source: { .environment($0.variable) }))
        if let file {
            layers.append(Layer(provider: try await Self.fileProvider(file), source: { .file(key: $0.name, path: file) }))
        }
        self.layers = layers
    }

    /// The value of `option` from the first source that has it, and which source that was.
    public func value(_ option: GatewayOption) throws -> (content: ConfigContent, source: Source)? {
        for layer in self.layers {
            let result: LookupResult
            do {
                result = try layer.provider.value(forKey: option.key, type: option.kind.configType)
            } catch {
                throw GatewayConfigurationError("\(layer.source(option)) must be \(Self.expected(option.kind))")
            }
            if let value = result.value { return (value.content, layer.source(option)) }
        }
        return nil
    }

    public func text(_ option: GatewayOption) throws -> String? {
        guard case .string(let text)? = try self.value(option)?.content else { return nil }
        return text
    }

    public func number(_ option: GatewayOption) throws -> Int? {
        guard case .int(let number)? = try self.value(option)?.content else { return nil }
        return number
    }

    public func list(_ option: GatewayOption) throws -> [String]? {
        guard case .stringArray(let list)? = try self.value(option)?.content else { return nil }
        return list.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    private static func expected(_ kind: GatewayOption.Kind) -> String {
        switch kind {
        case .text: "a string"
        case .number: "a whole number"
        case .list: "a list of strings (an array in the file, comma-separated in a variable)"
        }
    }

    // MARK: The file

    /// Longest configuration file read.
    public static let maximumFileLength = 1 << 20

    private static func fileProvider(_ path: String) async throws -> any ConfigProvider {
        let format = (path as NSString).pathExtension.lowercased()
        guard ["json", "yaml", "yml"].contains(format) else {
            throw GatewayConfigurationError("the configuration file \(path) must end in .json, .yaml or .yml")
        }
        // At most one byte past the limit is read: a path to a device or a huge file is an
        // error, not memory (and Foundation's whole-file read leaks a buffer on empty files).
        let data: Data
        do {
            guard let handle = FileHandle(forReadingAtPath: path) else { throw GatewayConfigurationError("cannot read the configuration file \(path)") }
            defer { try? handle.close() }
            data = try handle.read(upToCount: Self.maximumFileLength + 1) ?? Data()
        } catch let error as GatewayConfigurationError {
            throw error
        } catch {
            throw GatewayConfigurationError("cannot read the configuration file \(path): \(error)")
        }
        guard data.count <= Self.maximumFileLength else { throw GatewayConfigurationError("the configuration file \(path) is larger than 1 MiB") }
        let root: [String: Any]
        do {
            if format == "json" {
                guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else { throw Self.notMapping(path) }
                root = object
            } else {
                guard let node = try Yams.compose(yaml: String(decoding: data, as: UTF8.self)), case .mapping = node else { throw Self.notMapping(path) }
                root = try Self.yamlSettings(node, path: path)
            }
        } catch let error as GatewayConfigurationError {
            throw error
        } catch {
            throw GatewayConfigurationError("the configuration file \(path) is not valid \(format == "json" ? "JSON" : "YAML"): \(error)")
        }
        try Self.checkKeys(root, path: path)
        do {
            return format == "json"
                ? try await FileProvider<JSONSnapshot>(filePath: FilePath(path))
                : try await FileProvider<YAMLSnapshot>(filePath: FilePath(path))
        } catch {
            throw GatewayConfigurationError("the configuration file \(path) cannot be read: \(error)")
        }
    }

    /// Deepest nesting of a YAML file (settings nest one level: `tls: {cert: …}`).
    static let maximumYAMLDepth = 16

    private static func notMapping(_ path: String) -> GatewayConfigurationError {
        GatewayConfigurationError("the configuration file \(path) must hold a mapping of settings (like listen: 127.0.0.1:8080)")
    }

    /// The YAML document's names as nested mappings (for ``checkKeys``), read from Yams's node
    /// tree and never from the values Yams builds: those trap on some inputs (found by fuzzing:
    /// a key that is a list or mapping; a base-60 whole number past `Int.max`, which
    /// swift-configuration also reads through Yams). So keys must be scalars, whole-number
    /// settings plain decimal numbers, and nesting at most ``maximumYAMLDepth`` levels.
    private static func yamlSettings(_ node: Node, prefix: String = "", path: String, depth: Int = 0) throws -> [String: Any] {
        guard depth < Self.maximumYAMLDepth else {
            throw GatewayConfigurationError("the configuration file \(path) nests deeper than \(Self.maximumYAMLDepth) levels")
        }
        switch node {
        case .mapping(let mapping):
            var names: [String: Any] = [:]
            for (key, value) in mapping {
                guard case .scalar(let scalar) = key else {
                    throw GatewayConfigurationError("the configuration file \(path) has a key that is not a name (a list or mapping used as a key)")
                }
                let name = prefix + scalar.string
                if GatewayOption.all.contains(where: { $0.name == name && $0.kind == .number }) {
                    guard case .scalar(let number) = value, Int(number.string) != nil else {
                        throw GatewayConfigurationError("\(name) in \(path) must be a whole number")
                    }
                }
                let nested = try Self.yamlSettings(value, prefix: name + ".", path: path, depth: depth + 1)
                names[scalar.string] = value.mapping == nil ? true : nested
            }
            return names
        case .sequence(let sequence):
            for item in sequence { _ = try Self.yamlSettings(item, prefix: prefix, path: path, depth: depth + 1) }
            return [:]
        case .scalar, .alias:
            return [:]
        }
    }

    /// Every key must name a setting (a typo must not be silently ignored).
    private static func checkKeys(_ mapping: [String: Any], prefix: String = "", path: String) throws {
        let known = Set(GatewayOption.all.map(\.name))
        for (key, value) in mapping.sorted(by: { $0.key < $1.key }) {
            let name = prefix + key
            if let nested = value as? [String: Any], known.contains(where: { $0.hasPrefix(name + ".") }) {
                try Self.checkKeys(nested, prefix: name + ".", path: path)
            } else if !known.contains(name) {
                let spelling = { (key: String) in key.replacingOccurrences(of: ".", with: "-").replacingOccurrences(of: "_", with: "-") }
                let hint = GatewayOption.all.first { spelling($0.name) == spelling(name) }
                throw GatewayConfigurationError("unknown setting '\(name)' in \(path)" + (hint.map { " (did you mean '\($0.name)'?)" } ?? ""))
            }
        }
    }
}
