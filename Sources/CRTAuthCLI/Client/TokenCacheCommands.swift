import ArgumentParser
import CRTAuthClient
import Foundation
import SSHAgent

/// The token cache, from the URL a user typed: nil for every server.
private func cacheAndOrigin(_ url: String?) throws -> (TokenCache, String?) {
    guard let cache = TokenCache.standard() else { throw CLIFailure(message: "no token cache: neither XDG_CACHE_HOME nor HOME is set") }
    do {
        return (cache, try url.map { try CRTAuthClient.origin(of: $0) })
    } catch let error as CRTAuthClientError {
        throw CLIFailure(message: error.message)
    }
}

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the cached tokens and the ssh-agent's keys, with the servers that accepted each key."
    )
    @Argument(help: "Only this server's tokens.") var url: String?
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        try await reportingErrors {
            let (cache, origin) = try cacheAndOrigin(self.url)
            let now = UInt64(max(0, Date().timeIntervalSince1970))
            let tokens = cache.tokens().map(\.token).filter { origin == nil || $0.server == origin }
            // The agent is optional here: status also answers without one.
            var agentProblem: String?
            var identities: [SSHAgentClient.Identity] = []
            do {
                identities = try await environmentAgent().identities()
            } catch {
                agentProblem = ProcessInfo.processInfo.environment["SSH_AUTH_SOCK"].map { $0.isEmpty } ?? true ? "SSH_AUTH_SOCK is not set" : "\(error)"
            }
            func acceptedBy(_ fingerprint: String) -> [String] {
                Array(Set(tokens.filter { $0.keyFingerprint == fingerprint }.map { $0.server ?? "?" })).sorted()
            }
            if self.json {
                let tokenObjects: [[String: Any]] = tokens.map { token in
                    ["server": token.server ?? NSNull(), "user": token.username, "scheme": token.scheme, "expires": isoDate(token.expiresAt),
                     "fresh": token.isFresh(at: now), "key": token.keyFingerprint ?? NSNull()]
                }
                let keyObjects: [[String: Any]] = identities.map { entry in
                    ["sha256": entry.publicKey.sha256Fingerprint, "type": entry.identity.typeName, "comment": entry.comment,
                     "accepted_by": acceptedBy(entry.publicKey.sha256Fingerprint)]
                }
                var object: [String: Any] = ["cache": cache.directory, "tokens": tokenObjects, "agent_keys": keyObjects]
                object["agent_error"] = agentProblem ?? NSNull()
                print(try jsonText(object))
                return
            }
            print(tokens.isEmpty ? "no cached tokens\(origin.map { " for \($0)" } ?? "") in \(cache.directory)" : "tokens in \(cache.directory):")
            for token in tokens {
                let state = token.isFresh(at: now) ? "valid until \(isoDate(token.expiresAt)) (\(token.expiresAt - now) s)" : "expired \(isoDate(token.expiresAt))"
                print("  \(token.server ?? "?")  \(token.username)  \(token.scheme)  \(state)  \(token.keyFingerprint ?? "")")
            }
            if let agentProblem {
                print("ssh-agent: \(agentProblem)")
            } else {
                print(identities.isEmpty ? "ssh-agent holds no keys" : "keys in ssh-agent:")
                for entry in identities {
                    let servers = acceptedBy(entry.publicKey.sha256Fingerprint)
                    let accepted = servers.isEmpty ? "no cached token" : "accepted by " + servers.joined(separator: ", ")
                    print("  \(entry.publicKey.sha256Fingerprint) \(displayName(entry.identity)) \(entry.comment)  (\(accepted))")
                }
            }
        }
    }
}

struct LogoutCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logout",
        abstract: "Remove cached tokens: a server's, or all of them.",
        discussion: "Removes only token files this tool wrote; symbolic links and other files in the cache directory are left alone."
    )
    @Argument(help: "Only this server's tokens (every user's).") var url: String?
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        try await reportingErrors {
            let (cache, origin) = try cacheAndOrigin(self.url)
            let removed = cache.removeTokens { origin == nil || $0.server == origin }
            if self.json {
                print(try jsonText(["removed": removed.count, "servers": Array(Set(removed.compactMap(\.server))).sorted()] as [String: Any]))
            } else {
                print("removed \(removed.count) cached token\(removed.count == 1 ? "" : "s")\(origin.map { " for \($0)" } ?? "")")
            }
        }
    }
}
