import ArgumentParser
import AsyncHTTPClient
import CRTAuth
import CRTAuthClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import SSHKeys

/// Options shared by `login`, `token` and `curl`.
struct ClientOptions: ParsableArguments {
    @Option(name: .customLong("user"), help: "Who to authenticate as. Default: CRTAUTH_USER, else USER, else your account's name.")
    var user: String?
    @Option(name: .customLong("identity"), help: "A private key file to sign with instead of ssh-agent (its passphrase from SSH_ASKPASS as ssh uses it, the terminal, or CRTAUTH_PASSPHRASE).")
    var identity: String?
    @Option(name: .customLong("protocol"), help: "v0, v1 or v2. Default: v2 for non-RSA keys, v1 for RSA keys (what Python and Java servers speak).")
    var protocolVersion: String?
    @Option(name: .customLong("handshake-method"), help: "GET (default), HEAD (servers older than crtauth 0.99.3) or POST.")
    var handshakeMethod: String = "GET"
    @Option(name: .customLong("cacert"), help: "Trust the CA certificates in this PEM file (instead of the system's) for https:// servers.")
    var caCertificates: String?
    @Flag(name: [.customShort("k"), .customLong("insecure")], help: "Do not verify the server's TLS certificate (the crtauth handshake still checks the server name).")
    var insecure = false
    @Option(name: .customLong("connect-timeout"), help: "Seconds to wait for a connection. Default 10.")
    var connectTimeout: Double?
    @Option(name: [.customShort("m"), .customLong("max-time")], help: "Seconds the whole operation may take, handshake included (exit 28 after). Default: none; 30 s per exchange.")
    var maxTime: Double?

    /// Limits of the options above.
    static let maximumSeconds = 86_400.0
    static let defaultConnectTimeout: TimeAmount = .seconds(10)

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
        var configuration = CRTAuthClient.Configuration(username: user, protocolVersion: version, handshakeMethod: method, tokenCache: TokenCache.standard(), scheme: scheme)
        if let maxTime = self.maxTime { configuration.timeout = try Self.timeAmount(maxTime, "--max-time") }
        let signers = try signerSource(identity: self.identity)
        return CRTAuthClient(configuration: configuration, signers: signers, httpClient: try self.makeHTTPClient(), trace: trace)
    }

    /// The HTTP client of one command: TLS as the options say; redirects are never followed
    /// by it (`crtauth curl -L` follows them itself, deciding where credentials may go).
    func makeHTTPClient() throws -> HTTPClient {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        if let path = self.caCertificates {
            guard (try? readSmallFile(path)) != nil else { throw CLIFailure(message: "cannot read the CA file \(path)") }
            do {
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(path))
            } catch {
                throw CLIFailure(message: "\(path) holds no PEM certificate: \(error)")
            }
        }
        if self.insecure { tls.certificateVerification = .none }
        let connect = try self.connectTimeout.map { try Self.timeAmount($0, "--connect-timeout") } ?? Self.defaultConnectTimeout
        let configuration = HTTPClient.Configuration(tlsConfiguration: tls, redirectConfiguration: .disallow, timeout: .init(connect: connect))
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    static func timeAmount(_ seconds: Double, _ flag: String) throws -> TimeAmount {
        guard seconds > 0, seconds <= Self.maximumSeconds else { throw CLIFailure(message: "\(flag) takes seconds, more than 0 and at most \(Int(Self.maximumSeconds))") }
        return .nanoseconds(Int64(seconds * 1e9))
    }
}

/// `--user`, else `CRTAUTH_USER`, else `USER`, else the account's name in the password
/// database (as ssh takes it when `User` is not configured).
func resolveUser(_ flag: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String {
    let nonEmpty = { (value: String?) in value.flatMap { $0.isEmpty ? nil : $0 } }
    if let flag {
        guard !flag.isEmpty else { throw CLIFailure(message: "--user is empty") }
        return flag
    }
    guard let user = nonEmpty(environment["CRTAUTH_USER"]) ?? nonEmpty(environment["USER"]) ?? accountName() else {
        throw CLIFailure(message: "no username: pass --user or set CRTAUTH_USER (this account has no name in the password database)")
    }
    return user
}

/// The name of the real user id in the password database, if it has one.
func accountName() -> String? {
    var entry = passwd()
    var result: UnsafeMutablePointer<passwd>?
    var buffer = [CChar](repeating: 0, count: 16 * 1024)
    guard getpwuid_r(getuid(), &entry, &buffer, buffer.count, &result) == 0, result != nil, let name = entry.pw_name else { return nil }
    let text = String(cString: name)
    return text.isEmpty ? nil : text
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

/// Runs a client command body, then shuts its HTTP client down: client errors become one
/// line on stderr and their exit code. With `maxTime`, the whole body must finish within it
/// (curl's `-m`), else exit 28.
func runClient(_ client: CRTAuthClient, maxTime: Double? = nil, _ body: @escaping @Sendable (CRTAuthClient) async throws -> Void) async throws {
    let result: Result<Void, any Error>
    do {
        if let maxTime {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await body(client) }
                group.addTask {
                    try await Task.sleep(for: .seconds(maxTime))
                    throw CRTAuthClientError(.timeout, "the operation took longer than --max-time \(maxTime) s")
                }
                try await group.next()
                group.cancelAll()
            }
        } else {
            try await body(client)
        }
        result = .success(())
    } catch {
        result = .failure(error)
    }
    try? await client.httpClient.shutdown()
    do {
        try result.get()
    } catch let error as CRTAuthClientError {
        printError(error.message)
        switch error.code {
        case .network: throw ExitCode(ClientExit.network)
        case .timeout: throw ExitCode(ClientExit.timeout)
        case .invalidURL, .tokenCache, .tooLarge: throw ExitCode(ClientExit.failure)
        default: throw ExitCode(ClientExit.authentication)
        }
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
            try await runClient(try self.client.makeClient(), maxTime: self.client.maxTime) { client in
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
            try await runClient(try self.client.makeClient(), maxTime: self.client.maxTime) { client in
                let token = try await client.token(for: self.url)
                print(self.json ? try tokenJSON(token, url: self.url, includeToken: true) : token.token)
            }
        }
    }
}
