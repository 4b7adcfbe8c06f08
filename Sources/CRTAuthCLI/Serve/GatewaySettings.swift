import AuthCore
import CRTAuth
import CRTAuthGatewayConfiguration
import CRTAuthHummingbird
import Foundation
import Logging
import SSHKeys

/// The gateway's effective settings: each from a flag, a `CRTAUTH_*` variable, the
/// configuration file or its default, checked.
struct GatewaySettings {
    /// Where the gateway's listener accepts connections.
    enum Listen: Equatable {
        case tcp(host: String, port: Int)
        /// A unix-domain socket (`unix:PATH`, as nginx writes it): for a proxy on this machine,
        /// such as nginx's `auth_request`, which then skips TCP on every check.
        case unix(path: String)
    }

    var listen: Listen
    var serverName: String
    /// Where `/healthz`, `/readyz` and `/metrics` are served instead of the public listener.
    var adminListen: (host: String, port: Int)?
    /// The PEM certificate chain and key served over TLS, if any.
    var tls: (certificate: String, key: String)?
    var dataDirectory: String
    var secretFile: String
    var store: StoreLocation
    var passwordFile: String?
    var upstream: String?
    var upstreamCA: String?
    /// Seconds the upstream may take to send its response head (then 504).
    var upstreamTimeout: Int
    var trustedProxies: [NetworkRange]
    var tokenFormat: CRTAuthVersion
    var tokenLifetime: UInt64
    var schemes: Set<AuthenticationScheme>
    var externalScheme: String
    var jwksKeyFiles: [String]
    var publishedKeys: [SSHPublicKey]
    var publicPaths: [String]
    /// Seconds a request head may take to arrive, from the connection's start or its first byte.
    var headerTimeout: Int
    /// Seconds a keep-alive connection may sit idle.
    var idleTimeout: Int
    var maxConnections: Int
    /// Longest request body passed upstream, in bytes.
    var maxBody: Int
    var logLevel: Logger.Level
    var logFormat: LineLogHandler.Format
    /// Where access-log lines go; nil: nowhere.
    var accessLog: LogDestination.Target?

    init(_ configuration: GatewayConfiguration) throws {
        let listen = try configuration.text(.listen) ?? "127.0.0.1:8080"
        if listen.hasPrefix("unix:") {
            let path = String(listen.dropFirst(5))
            guard !path.isEmpty, !path.utf8.contains(0), path.utf8.count < 108 else {
                throw CLIFailure(message: "--listen unix:PATH takes the socket's path (shorter than 108 bytes), not '\(listen)'")
            }
            self.listen = .unix(path: path)
        } else {
            let (host, port) = try Self.parseListen(listen, option: "--listen")
            self.listen = .tcp(host: host, port: port)
        }
        self.adminListen = try configuration.text(.adminListen).map { try Self.parseListen($0, option: "--admin-listen") }
        switch (try configuration.text(.tlsCertificate), try configuration.text(.tlsKey)) {
        case (let certificate?, let key?): self.tls = (certificate, key)
        case (nil, nil): self.tls = nil
        case (_?, nil): throw CLIFailure(message: "--tls-cert needs --tls-key (the certificate's private key)")
        case (nil, _?): throw CLIFailure(message: "--tls-key needs --tls-cert (the certificate chain)")
        }
        self.dataDirectory = try configuration.text(.dataDirectory) ?? "./crtauth-data"
        self.secretFile = try configuration.text(.secretFile) ?? self.dataDirectory + "/secret"
        if let (content, source) = try configuration.value(.store), case .string(let text) = content {
            self.store = try StoreLocation(parsing: text)
            if case .file = source, case .postgres(let url) = self.store, URLComponents(string: url)?.password != nil {
                throw CLIFailure(message: "\(source) holds a password: configuration files name secrets by path, so put it in a file and set password-file (or PGPASSWORD)")
            }
        } else {
            self.store = .default(dataDirectory: self.dataDirectory)
        }
        self.passwordFile = try configuration.text(.passwordFile)
        if self.passwordFile != nil {
            guard case .postgres = self.store else { throw CLIFailure(message: "--password-file is for the PostgreSQL store (postgres://…), not \(self.store)") }
        }
        self.upstream = try configuration.text(.upstream)
        self.upstreamCA = try configuration.text(.upstreamCA)
        if self.upstreamCA != nil, self.upstream?.lowercased().hasPrefix("https://") != true {
            throw CLIFailure(message: "--upstream-ca is for an https:// upstream")
        }
        self.upstreamTimeout = try configuration.number(.upstreamTimeout) ?? 60
        guard self.upstreamTimeout > 0 else { throw CLIFailure(message: "upstream-timeout must be a positive number of seconds") }
        self.trustedProxies = try (configuration.list(.trustedProxies) ?? []).map { text in
            guard let range = NetworkRange(text) else { throw CLIFailure(message: "--trusted-proxy takes an address, a CIDR network (10.0.0.0/8, ::1) or unix, not '\(text)'") }
            return range
        }
        switch try configuration.text(.tokenFormat) ?? "v1" {
        case "v1", "1": self.tokenFormat = .v1
        case "v0", "0": self.tokenFormat = .v0
        case let other: throw CLIFailure(message: "unknown token format '\(other)': use v1 (Java-compatible) or v0 (Python-compatible)")
        }
        let lifetime = try configuration.number(.tokenLifetime) ?? Int(AuthServer.defaultTokenLifetime)
        guard lifetime > 0 else { throw CLIFailure(message: "token-lifetime must be a positive number of seconds") }
        self.tokenLifetime = UInt64(lifetime)
        self.schemes = []
        for name in try configuration.list(.schemes) ?? ["chap"] {
            guard let scheme = AuthenticationScheme(rawValue: name.lowercased()) else {
                throw CLIFailure(message: "unknown scheme '\(name)': use chap, jwt, signature or serveradmin")
            }
            self.schemes.insert(scheme)
        }
        guard !self.schemes.isEmpty else { throw CLIFailure(message: "--schemes names no scheme") }
        self.externalScheme = try configuration.text(.externalScheme)?.lowercased() ?? (self.tls == nil ? "http" : "https")
        guard self.externalScheme == "http" || self.externalScheme == "https" else {
            throw CLIFailure(message: "--external-scheme is http or https, not '\(self.externalScheme)'")
        }
        self.jwksKeyFiles = try configuration.list(.jwksKeys) ?? []
        self.publishedKeys = try self.jwksKeyFiles.flatMap { path in
            try parseKeyLines(try readSmallFile(path), source: path).map(\.key)
        }
        self.publicPaths = try configuration.list(.publicPaths) ?? []
        for path in self.publicPaths where !path.hasPrefix("/") || path.contains("*") || path.contains("%") || path.split(separator: "/").contains(where: { $0 == "." || $0 == ".." }) {
            throw CLIFailure(message: "--public-path takes an absolute path like /health or /static/ (no *, % or dot segments), not '\(path)'")
        }
        func positive(_ option: GatewayOption, default value: Int) throws -> Int {
            let number = try configuration.number(option) ?? value
            guard number > 0 else { throw CLIFailure(message: "\(option.flag) must be a positive number") }
            return number
        }
        self.headerTimeout = try positive(.headerTimeout, default: 10)
        self.idleTimeout = try positive(.idleTimeout, default: 60)
        self.maxConnections = try positive(.maxConnections, default: 4096)
        self.maxBody = try positive(.maxBody, default: 10 << 20)
        let level = try configuration.text(.logLevel) ?? "info"
        guard let logLevel = Logger.Level(rawValue: level) else { throw CLIFailure(message: "unknown log level '\(level)'") }
        self.logLevel = logLevel
        let format = try configuration.text(.logFormat) ?? "text"
        guard let logFormat = LineLogHandler.Format(rawValue: format) else { throw CLIFailure(message: "--log-format is text or json, not '\(format)'") }
        self.logFormat = logFormat
        switch try configuration.text(.accessLog) ?? "stdout" {
        case "off": self.accessLog = nil
        case "stdout", "-": self.accessLog = .standardOutput
        case "stderr": self.accessLog = .standardError
        case let path: self.accessLog = .file(path)
        }
        switch (try configuration.text(.serverName), self.listen) {
        case (let name?, _): self.serverName = name
        case (nil, .tcp(let host, _)) where host != "0.0.0.0" && host != "::": self.serverName = host
        case (nil, _): self.serverName = ProcessInfo.processInfo.hostName
        }
    }

    static func parseListen(_ text: String, option: String) throws -> (String, Int) {
        let host: Substring, port: Substring
        if text.hasPrefix("["), let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") {
            host = text[text.index(after: text.startIndex)..<close]
            port = text[text.index(close, offsetBy: 2)...]
        } else if let colon = text.lastIndex(of: ":"), !text[..<colon].contains(":") {
            host = text[..<colon]
            port = text[text.index(after: colon)...]
        } else {
            throw CLIFailure(message: "\(option) takes HOST:PORT (or [IPv6]:PORT\(option == "--listen" ? ", or unix:PATH" : "")), not '\(text)'")
        }
        guard !host.isEmpty, let number = Int(port), (0...65535).contains(number) else {
            throw CLIFailure(message: "\(option) takes HOST:PORT with a port from 0 to 65535, not '\(text)'")
        }
        return (String(host), number)
    }

    /// Whether clients outside this machine can reach the listener.
    var listensBeyondLoopback: Bool {
        guard case .tcp(let host, _) = self.listen else { return false }
        return !(host == "localhost" || host == "::1" || host.hasPrefix("127."))
    }

    /// The listener as `--listen` takes it.
    var listenDescription: String {
        switch self.listen {
        case .tcp(let host, let port): Self.address(host, port)
        case .unix(let path): "unix:" + path
        }
    }

    var accessLogDescription: String {
        switch self.accessLog {
        case nil: "off"
        case .standardOutput?: "stdout"
        case .standardError?: "stderr"
        case .file(let path)?: path
        }
    }

    static func address(_ host: String, _ port: Int) -> String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    // MARK: --print-config

    /// The effective settings as a YAML configuration file (loadable with `--config`), each
    /// line saying where its value came from; the store's password redacted.
    func printed(_ configuration: GatewayConfiguration) throws -> String {
        let values: [(GatewayOption, Any?)] = [
            (.listen, self.listenDescription), (.serverName, self.serverName),
            (.adminListen, self.adminListen.map { Self.address($0.host, $0.port) }), (.tlsCertificate, self.tls?.certificate), (.tlsKey, self.tls?.key),
            (.dataDirectory, self.dataDirectory), (.secretFile, self.secretFile), (.store, self.store.description),
            (.passwordFile, self.passwordFile), (.upstream, self.upstream), (.upstreamCA, self.upstreamCA),
            (.upstreamTimeout, self.upstreamTimeout), (.trustedProxies, self.trustedProxies.map(\.description)),
            (.tokenFormat, self.tokenFormat == .v0 ? "v0" : "v1"), (.tokenLifetime, Int(self.tokenLifetime)),
            (.schemes, self.schemes.map(\.rawValue).sorted()), (.jwksKeys, self.jwksKeyFiles), (.externalScheme, self.externalScheme),
            (.publicPaths, self.publicPaths), (.headerTimeout, self.headerTimeout), (.idleTimeout, self.idleTimeout),
            (.maxConnections, self.maxConnections), (.maxBody, self.maxBody), (.logLevel, self.logLevel.rawValue), (.logFormat, self.logFormat.rawValue),
            (.accessLog, self.accessLogDescription),
        ]
        var lines = ["# crtauth serve \(crtauthVersion): effective settings (flag > CRTAUTH_* variable > --config file > default)"]
        var section: String?
        for (option, value) in values {
            let rendered: String
            switch value {
            case let text as String: rendered = jsonStringLiteral(text)
            case let number as Int: rendered = String(number)
            case let list as [String]: rendered = "[" + list.map { jsonStringLiteral($0) }.joined(separator: ", ") + "]"
            default:
                lines.append("# \(option.name): not set")
                continue
            }
            let source = try configuration.value(option).map { "\($0.source)" } ?? "default"
            let parts = option.name.split(separator: ".", maxSplits: 1).map(String.init)
            if parts.count == 2, parts[0] != section { lines.append("\(parts[0]):") }
            section = parts.count == 2 ? parts[0] : nil
            lines.append("\(parts.count == 2 ? "  " : "")\(parts.last!): \(rendered)  # \(source)")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
