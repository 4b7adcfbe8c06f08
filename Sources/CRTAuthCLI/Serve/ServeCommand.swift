import ArgumentParser
import AsyncHTTPClient
import Configuration
import AuthCore
import CRTAuth
import CRTAuthGatewayConfiguration
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
            Every setting can be given three ways under one name: a flag (--tls-cert), an environment \
            variable (CRTAUTH_TLS_CERT; lists comma-separated) and a key in the --config file (tls: {cert: …}); \
            a flag wins over a variable, a variable over the file (CRTAUTH_CONFIG names one too). \
            --print-config shows the result. Send SIGHUP (or edit the files) to reload the secrets and the TLS certificate.
            """
    )

    @Option(help: "A configuration file (.json, .yaml or .yml) with any of these settings under the same names (tls.cert nests as tls: {cert: …}).")
    var config: String?
    @Flag(name: .customLong("print-config"), help: "Print the effective settings (flags, then CRTAUTH_* variables, then the file, then defaults) with where each came from, secrets redacted, and exit.")
    var printConfig = false

    @Option(help: "Address to listen on (HOST:PORT; port 0 picks a free one), or unix:PATH for a unix-domain socket (a proxy on this machine). Default 127.0.0.1:8080.")
    var listen: String?
    @Option(name: .customLong("server-name"), help: "The host name clients connect to (checked in challenges). Default: the listen host, or this machine's name when listening on all addresses or a unix socket.")
    var serverName: String?
    @Option(name: .customLong("admin-listen"), help: "Serve /healthz (liveness), /readyz (store and upstream answer) and /metrics here (HOST:PORT) instead of on --listen, where those paths then go upstream like any other.")
    var adminListen: String?
    @Option(name: .customLong("tls-cert"), help: "Serve HTTPS (HTTP/1.1 and HTTP/2) with this PEM certificate chain, leaf first; reloaded on SIGHUP or change.")
    var tlsCertificate: String?
    @Option(name: .customLong("tls-key"), help: "The PEM private key of --tls-cert.")
    var tlsKey: String?
    @Option(name: .customLong("data-dir"), help: "Directory for the secret file and the key database. Default ./crtauth-data.")
    var dataDirectory: String?
    @Option(name: .customLong("secret-file"), help: "HMAC secrets, base64, newest first; created (0600) when missing. Default <data-dir>/secret.")
    var secretFile: String?
    @Option(help: "Key store: sqlite:PATH, postgres://USER@HOST[:PORT]/DB (shared by several gateways), ldap://HOST/BASE-DN, dir:PATH or authorized-keys:PATTERN. Default sqlite:<data-dir>/crtauth.sqlite.")
    var store: String?
    @Option(name: .customLong("password-file"), help: "The PostgreSQL store's password, read from this file (or PGPASSWORD).")
    var passwordFile: String?
    @Option(help: "Proxy authenticated requests to this http(s) URL instead of serving /whoami.")
    var upstream: String?
    @Option(name: .customLong("upstream-ca"), help: "PEM CA certificates that an https upstream's certificate must chain to, instead of the system's.")
    var upstreamCA: String?
    @Option(name: .customLong("upstream-timeout"), help: "Seconds the upstream may take to send its response head; then 504. Default 60.")
    var upstreamTimeout: Int?
    @Option(name: .customLong("trusted-proxy"), help: "A proxy (address, CIDR network, or unix for peers of a unix-domain socket; repeatable) whose X-Forwarded-* and Forwarded headers are extended; anyone else's are replaced.")
    var trustedProxies: [String] = []
    @Option(name: .customLong("token-format"), help: "Tokens issued: v1 (Java-compatible) or v0 (Python-compatible). Default v1.")
    var tokenFormat: String?
    @Option(name: .customLong("token-lifetime"), help: "Token lifetime in seconds (1–598). Default 60.")
    var tokenLifetime: Int?
    @Option(help: "Accepted schemes, comma-separated: chap, jwt, signature (RFC 9421), serveradmin. Default chap.")
    var schemes: String?
    @Option(name: .customLong("jwks-key"), help: "A public key file to publish at /.well-known/jwks.json (repeatable), so that asymmetric_jwt_auth servers can trust this service's keys.")
    var jwksKeys: [String] = []
    @Option(name: .customLong("external-scheme"), help: "http or https: how clients reach this gateway, for RFC 9421's @target-uri. Default https with --tls-cert, else http.")
    var externalScheme: String?
    @Option(name: .customLong("public-path"), help: "Pass requests for this path, or below it when it ends in /, without credentials (repeatable): health checks of the upstream, static assets.")
    var publicPaths: [String] = []
    @Option(name: .customLong("header-timeout"), help: "Seconds a request head may take to arrive, counted from the connection's start or a later request's first byte; then the connection closes. Default 10.")
    var headerTimeout: Int?
    @Option(name: .customLong("idle-timeout"), help: "Seconds an idle keep-alive connection is kept. Default 60.")
    var idleTimeout: Int?
    @Option(name: .customLong("max-connections"), help: "Connections open at once; past it new ones are closed at once. Default 4096.")
    var maxConnections: Int?
    @Option(name: .customLong("max-body"), help: "Longest request body passed upstream, in bytes (and read to check a signature, which is also at most 1 MiB); longer is a 413. Default 10485760 (10 MiB).")
    var maxBody: Int?
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical. Default info.")
    var logLevel: String?
    @Option(name: .customLong("log-format"), help: "text (logfmt: key=value) or json (one object per line), for every log line. Default text.")
    var logFormat: String?
    @Option(name: .customLong("access-log"), help: "One line per request to: stdout, stderr, a FILE (appended; reopened on SIGHUP) or off. Default stdout.")
    var accessLog: String?

    /// The options given on the command line, by setting.
    var flags: [GatewayOption: ConfigContent] {
        var flags: [GatewayOption: ConfigContent] = [:]
        let texts: [(GatewayOption, String?)] = [
            (.listen, self.listen), (.serverName, self.serverName), (.adminListen, self.adminListen), (.tlsCertificate, self.tlsCertificate), (.tlsKey, self.tlsKey),
            (.dataDirectory, self.dataDirectory), (.secretFile, self.secretFile), (.store, self.store), (.passwordFile, self.passwordFile),
            (.upstream, self.upstream), (.upstreamCA, self.upstreamCA), (.tokenFormat, self.tokenFormat), (.externalScheme, self.externalScheme),
            (.logLevel, self.logLevel), (.logFormat, self.logFormat), (.accessLog, self.accessLog),
        ]
        for case let (option, value?) in texts { flags[option] = .string(value) }
        if let lifetime = self.tokenLifetime { flags[.tokenLifetime] = .int(lifetime) }
        let numbers: [(GatewayOption, Int?)] = [
            (.upstreamTimeout, self.upstreamTimeout), (.headerTimeout, self.headerTimeout), (.idleTimeout, self.idleTimeout),
            (.maxConnections, self.maxConnections), (.maxBody, self.maxBody),
        ]
        for case let (option, value?) in numbers { flags[option] = .int(value) }
        if !self.trustedProxies.isEmpty { flags[.trustedProxies] = .stringArray(self.trustedProxies) }
        if let schemes = self.schemes { flags[.schemes] = .stringArray(schemes.split(separator: ",").map(String.init)) }
        if !self.jwksKeys.isEmpty { flags[.jwksKeys] = .stringArray(self.jwksKeys) }
        if !self.publicPaths.isEmpty { flags[.publicPaths] = .stringArray(self.publicPaths) }
        return flags
    }

    func run() async throws {
        try await reportingErrors {
            let environment = ProcessInfo.processInfo.environment
            let file = self.config ?? environment["CRTAUTH_CONFIG"].flatMap { $0.isEmpty ? nil : $0 }
            let configuration = try await GatewayConfiguration(flags: self.flags, environment: environment, file: file)
            let settings = try GatewaySettings(configuration)
            if self.printConfig {
                FileHandle.standardOutput.write(Data(try settings.printed(configuration).utf8))
                return
            }
            try await Gateway(settings: settings).run()
        }
    }
}

