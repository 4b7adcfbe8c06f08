import ArgumentParser
import AsyncHTTPClient
import CRTAuth
import CRTAuthClient
import Foundation
import NIOHTTP1
import SSHKeys

/// Options shared by `login`, `token` and `curl`.
struct ClientOptions: ParsableArguments {
    @Option(name: .customLong("user"), help: "Who to authenticate as. Default: CRTAUTH_USER, else USER.")
    var user: String?
    @Option(name: .customLong("identity"), help: "A private key file to sign with instead of ssh-agent (asks for its passphrase, or reads CRTAUTH_PASSPHRASE).")
    var identity: String?
    @Option(name: .customLong("protocol"), help: "v0, v1 or v2. Default: v2 for non-RSA keys, v1 for RSA keys (what Python and Java servers speak).")
    var protocolVersion: String?
    @Option(name: .customLong("handshake-method"), help: "GET (default), HEAD (servers older than crtauth 0.99.3) or POST.")
    var handshakeMethod: String = "GET"

    func makeClient(scheme: CRTAuthClient.Scheme = .chap, trace: (@Sendable (String) -> Void)? = nil) throws -> CRTAuthClient {
        let user = try resolveUser(self.user)
        let version: CRTAuthVersion?
        switch self.protocolVersion {
        case nil: version = nil
        case "v0", "0": version = .v0
        case "v1", "1": version = .v1
        case "v2", "2": version = .v2
        case let other?: throw CLIFailure(message: "unknown protocol '\(other)': use v0, v1 or v2")
        }
        let method: HTTPMethod
        switch self.handshakeMethod.uppercased() {
        case "GET": method = .GET
        case "HEAD": method = .HEAD
        case "POST": method = .POST
        default: throw CLIFailure(message: "--handshake-method takes GET, HEAD or POST")
        }
        return CRTAuthClient(
            configuration: .init(username: user, protocolVersion: version, handshakeMethod: method, tokenCache: TokenCache.standard(), scheme: scheme),
            signers: try signerSource(identity: self.identity), trace: trace
        )
    }
}

/// `--user`, else `CRTAUTH_USER`, else `USER`.
func resolveUser(_ flag: String?) throws -> String {
    let environment = ProcessInfo.processInfo.environment
    guard let user = flag ?? environment["CRTAUTH_USER"].flatMap({ $0.isEmpty ? nil : $0 }) ?? environment["USER"], !user.isEmpty else {
        throw CLIFailure(message: "no username: pass --user or set CRTAUTH_USER")
    }
    return user
}

/// The key file of `--identity`, else ssh-agent.
func signerSource(identity: String?) throws -> SignerSource {
    guard let path = identity else { return .agent(socketPath: nil) }
    return .signers([try loadPrivateKey(path, text: try readSmallFile(path))])
}

/// Exit codes of the client commands (curl's where it has one).
enum ClientExit {
    static let failure: Int32 = 1
    static let network: Int32 = 7
    static let httpError: Int32 = 22
    static let timeout: Int32 = 28
    static let authentication: Int32 = 67
}

/// Runs a client command body: client errors become one line on stderr and their exit code.
func runClient(_ client: CRTAuthClient, _ body: (CRTAuthClient) async throws -> Void) async throws {
    do {
        try await body(client)
        try? await client.shutdown()
    } catch let error as CRTAuthClientError {
        try? await client.shutdown()
        printError(error.message)
        switch error.code {
        case .network: throw ExitCode(ClientExit.network)
        case .timeout: throw ExitCode(ClientExit.timeout)
        case .invalidURL, .tokenCache, .tooLarge: throw ExitCode(ClientExit.failure)
        default: throw ExitCode(ClientExit.authentication)
        }
    } catch {
        try? await client.shutdown()
        throw error
    }
}

func tokenJSON(_ token: CachedToken, url: String, includeToken: Bool) throws -> String {
    var object: [String: Any] = ["url": url, "user": token.username, "scheme": token.scheme, "expires": isoDate(token.expiresAt)]
    object["key"] = token.keyFingerprint ?? NSNull()
    if includeToken { object["token"] = token.token }
    return try jsonText(object)
}

struct LoginCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "login", abstract: "Authenticate to a crtauth server now and cache the token.")
    @Argument(help: "The server's URL.") var url: String
    @Flag(help: "Print the result as JSON.") var json = false
    @OptionGroup var client: ClientOptions

    func run() async throws {
        try await reportingErrors {
            try await runClient(try self.client.makeClient()) { client in
                let token = try await client.token(for: self.url, forceHandshake: true)
                if self.json {
                    print(try tokenJSON(token, url: self.url, includeToken: false))
                } else {
                    print("logged in to \(self.url) as \(token.username) with \(token.keyFingerprint ?? "?") (\(token.scheme)); token valid until \(isoDate(token.expiresAt))")
                }
            }
        }
    }
}

struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token", abstract: "Print a valid crtauth token for a server (the cached one while it is fresh).",
        discussion: "curl -H \"Authorization: chap:$(crtauth token URL)\" URL"
    )
    @Argument(help: "The server's URL.") var url: String
    @Flag(help: "Print the token with its user, key and expiry as JSON.") var json = false
    @OptionGroup var client: ClientOptions

    func run() async throws {
        try await reportingErrors {
            try await runClient(try self.client.makeClient()) { client in
                let token = try await client.token(for: self.url)
                print(self.json ? try tokenJSON(token, url: self.url, includeToken: true) : token.token)
            }
        }
    }
}
