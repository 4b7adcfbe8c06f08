import ArgumentParser
import AsyncHTTPClient
import AuthCore
import CRTAuth
import CRTAuthHummingbird
import Foundation
import Hummingbird
import Logging
import Metrics
import Prometheus
import ServiceLifecycle
import SSHKeys

/// `crtauth serve`: the authentication gateway.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the crtauth authentication gateway.",
        discussion: """
            Answers the crtauth handshake on /_auth, admits requests carrying Authorization: chap:<token> \
            (and, with --schemes, asymmetric_jwt_auth JWTs, RFC 9421 signatures and serveradmin's signed \
            headers), and either proxies them to --upstream (adding X-Authenticated-User, -Key and -Scheme) \
            or serves GET /whoami. \
            Also: /_auth/check (an nginx auth_request target), /healthz, /metrics (Prometheus).
            Every option can also be set with an environment variable: CRTAUTH_LISTEN, CRTAUTH_SERVER_NAME, \
            CRTAUTH_DATA_DIR, CRTAUTH_SECRET_FILE, CRTAUTH_STORE, CRTAUTH_UPSTREAM, CRTAUTH_TOKEN_FORMAT, \
            CRTAUTH_TOKEN_LIFETIME, CRTAUTH_SCHEMES, CRTAUTH_EXTERNAL_SCHEME, CRTAUTH_LOG_LEVEL. Send SIGHUP (or edit the secret file) to reload the secrets.
            """
    )

    @Option(help: "Address to listen on (HOST:PORT; port 0 picks a free one). Default 127.0.0.1:8080.")
    var listen: String?
    @Option(name: .customLong("server-name"), help: "The host name clients connect to (checked in challenges). Default: the listen host, or this machine's name when listening on all addresses.")
    var serverName: String?
    @Option(name: .customLong("data-dir"), help: "Directory for the secret file and the key database. Default ./crtauth-data.")
    var dataDirectory: String?
    @Option(name: .customLong("secret-file"), help: "HMAC secrets, base64, newest first; created (0600) when missing. Default <data-dir>/secret.")
    var secretFile: String?
    @Option(help: "Key store: sqlite:PATH, postgres://USER[:PASSWORD]@HOST[:PORT]/DB (shared by several gateways; or PGPASSWORD), dir:PATH or authorized-keys:PATTERN. Default sqlite:<data-dir>/crtauth.sqlite.")
    var store: String?
    @Option(help: "Proxy authenticated requests to this http(s) URL instead of serving /whoami.")
    var upstream: String?
    @Option(name: .customLong("token-format"), help: "Tokens issued: v1 (Java-compatible) or v0 (Python-compatible). Default v1.")
    var tokenFormat: String?
    @Option(name: .customLong("token-lifetime"), help: "Token lifetime in seconds (1–598). Default 60.")
    var tokenLifetime: UInt64?
    @Option(help: "Accepted schemes, comma-separated: chap, jwt, signature (RFC 9421), serveradmin. Default chap.")
    var schemes: String?
    @Option(name: .customLong("jwks-key"), help: "A public key file to publish at /.well-known/jwks.json (repeatable), so that asymmetric_jwt_auth servers can trust this service's keys.")
    var jwksKeys: [String] = []
    @Option(name: .customLong("external-scheme"), help: "http or https: how clients reach this gateway, for RFC 9421's @target-uri. Default http.")
    var externalScheme: String?
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical. Default info.")
    var logLevel: String?

    func run() async throws {
        try await reportingErrors {
            let settings = try GatewaySettings(options: self, environment: ProcessInfo.processInfo.environment)
            try await Gateway(settings: settings).run()
        }
    }
}

/// The gateway's effective settings: flags, then `CRTAUTH_*` variables, then defaults.
struct GatewaySettings {
    var host: String
    var port: Int
    var serverName: String
    var dataDirectory: String
    var secretFile: String
    var store: StoreLocation
    var upstream: String?
    var tokenFormat: CRTAuthVersion
    var tokenLifetime: UInt64
    var schemes: Set<AuthenticationScheme>
    var externalScheme: String
    var publishedKeys: [SSHPublicKey]
    var logLevel: Logger.Level

    init(options: ServeCommand, environment: [String: String]) throws {
        func value(_ flag: String?, _ variable: String) -> String? { flag ?? environment[variable].flatMap { $0.isEmpty ? nil : $0 } }
        let listen = value(options.listen, "CRTAUTH_LISTEN") ?? "127.0.0.1:8080"
        (self.host, self.port) = try Self.parseListen(listen)
        self.dataDirectory = value(options.dataDirectory, "CRTAUTH_DATA_DIR") ?? "./crtauth-data"
        self.secretFile = value(options.secretFile, "CRTAUTH_SECRET_FILE") ?? self.dataDirectory + "/secret"
        self.store = try value(options.store, "CRTAUTH_STORE").map(StoreLocation.init(parsing:)) ?? .default(dataDirectory: self.dataDirectory)
        self.upstream = value(options.upstream, "CRTAUTH_UPSTREAM")
        switch value(options.tokenFormat, "CRTAUTH_TOKEN_FORMAT") ?? "v1" {
        case "v1", "1": self.tokenFormat = .v1
        case "v0", "0": self.tokenFormat = .v0
        case let other: throw CLIFailure(message: "unknown token format '\(other)': use v1 (Java-compatible) or v0 (Python-compatible)")
        }
        if let lifetime = options.tokenLifetime {
            self.tokenLifetime = lifetime
        } else if let text = environment["CRTAUTH_TOKEN_LIFETIME"], !text.isEmpty {
            guard let lifetime = UInt64(text) else { throw CLIFailure(message: "CRTAUTH_TOKEN_LIFETIME must be a number of seconds") }
            self.tokenLifetime = lifetime
        } else {
            self.tokenLifetime = AuthServer.defaultTokenLifetime
        }
        self.schemes = []
        for name in (value(options.schemes, "CRTAUTH_SCHEMES") ?? "chap").split(separator: ",") {
            guard let scheme = AuthenticationScheme(rawValue: name.trimmingCharacters(in: .whitespaces).lowercased()) else {
                throw CLIFailure(message: "unknown scheme '\(name)': use chap, jwt, signature or serveradmin")
            }
            self.schemes.insert(scheme)
        }
        guard !self.schemes.isEmpty else { throw CLIFailure(message: "--schemes names no scheme") }
        self.externalScheme = value(options.externalScheme, "CRTAUTH_EXTERNAL_SCHEME")?.lowercased() ?? "http"
        guard self.externalScheme == "http" || self.externalScheme == "https" else {
            throw CLIFailure(message: "--external-scheme is http or https, not '\(self.externalScheme)'")
        }
        self.publishedKeys = try options.jwksKeys.flatMap { path in
            try parseKeyLines(try readSmallFile(path), source: path).map(\.key)
        }
        let level = value(options.logLevel, "CRTAUTH_LOG_LEVEL") ?? "info"
        guard let logLevel = Logger.Level(rawValue: level) else { throw CLIFailure(message: "unknown log level '\(level)'") }
        self.logLevel = logLevel
        if let name = value(options.serverName, "CRTAUTH_SERVER_NAME") {
            self.serverName = name
        } else if self.host == "0.0.0.0" || self.host == "::" {
            self.serverName = ProcessInfo.processInfo.hostName
        } else {
            self.serverName = self.host
        }
    }

    static func parseListen(_ text: String) throws -> (String, Int) {
        let host: Substring, port: Substring
        if text.hasPrefix("["), let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") {
            host = text[text.index(after: text.startIndex)..<close]
            port = text[text.index(close, offsetBy: 2)...]
        } else if let colon = text.lastIndex(of: ":"), !text[..<colon].contains(":") {
            host = text[..<colon]
            port = text[text.index(after: colon)...]
        } else {
            throw CLIFailure(message: "--listen takes HOST:PORT (or [IPv6]:PORT), not '\(text)'")
        }
        guard !host.isEmpty, let number = Int(port), (0...65535).contains(number) else {
            throw CLIFailure(message: "--listen takes HOST:PORT with a port from 0 to 65535, not '\(text)'")
        }
        return (String(host), number)
    }
}
