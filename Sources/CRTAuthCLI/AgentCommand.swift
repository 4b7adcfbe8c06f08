import ArgumentParser
import Foundation
import SSHAgent
import SSHKeys

struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Inspect the keys in ssh-agent.",
        subcommands: [List.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the keys in ssh-agent (SSH_AUTH_SOCK) with their fingerprints."
        )

        @Flag(help: "Print a JSON array instead of text.")
        var json = false

        func run() async throws {
            try await reportingErrors {
                let identities = try await environmentAgent().identities()
                if self.json {
                    let objects: [[String: Any]] = identities.map { entry in
                        [
                            "type": entry.identity.typeName,
                            "bits": entry.publicKey.bitCount,
                            "sha256": entry.publicKey.sha256Fingerprint,
                            "crtauth": entry.publicKey.crtauthFingerprint.map { String(format: "%02x", $0) }.joined(),
                            "comment": entry.comment,
                            "public_key": entry.identity.publicKey.openSSHLine(),
                        ]
                    }
                    print(try jsonText(objects))
                    return
                }
                guard !identities.isEmpty else {
                    printError("the agent has no keys; add one with 'ssh-add'")
                    throw ExitCode(1)
                }
                for entry in identities {
                    let crtauth = entry.publicKey.crtauthFingerprint.map { String(format: "%02x", $0) }.joined()
                    print("\(entry.publicKey.bitCount) \(entry.publicKey.sha256Fingerprint) crtauth:\(crtauth) \(entry.comment) (\(displayName(entry.identity)))")
                }
            }
        }
    }
}
