import Configuration

/// One setting of `crtauth serve`. Each has one name, used three ways: the flag `--NAME` (dots
/// as dashes: `--tls-cert`), the environment variable `CRTAUTH_NAME` (upper case, dots and
/// dashes as underscores: `CRTAUTH_TLS_CERT`) and the key NAME in the configuration file (dots
/// nest: `tls: {cert: …}`). A flag wins over a variable, a variable over the file, the file over
/// the default.
struct GatewayOption: Hashable, Sendable, CustomStringConvertible {
    enum Kind: Sendable {
        /// One string.
        case text
        /// A whole number.
        case number
        /// Several strings: a repeated flag, a comma-separated variable, an array in the file.
        case list

        var configType: ConfigType {
            switch self {
            case .text: .string
            case .number: .int
            case .list: .stringArray
            }
        }
    }

    let name: String
    let kind: Kind

    init(_ name: String, _ kind: Kind = .text) {
        self.name = name
        self.kind = kind
    }

    var flag: String { "--" + self.name.replacingOccurrences(of: ".", with: "-") }
    var variable: String { "CRTAUTH_" + String(self.name.uppercased().map { $0.isLetter || $0.isNumber ? $0 : "_" }) }
    var key: AbsoluteConfigKey { AbsoluteConfigKey(self.name.split(separator: ".").map(String.init)) }
    var description: String { self.name }

    static let listen = GatewayOption("listen")
    static let serverName = GatewayOption("server-name")
    static let adminListen = GatewayOption("admin-listen")
    static let dataDirectory = GatewayOption("data-dir")
    static let secretFile = GatewayOption("secret-file")
    static let store = GatewayOption("store")
    static let passwordFile = GatewayOption("password-file")
    static let upstream = GatewayOption("upstream")
    static let upstreamCA = GatewayOption("upstream-ca")
    static let upstreamTimeout = GatewayOption("upstream-timeout", .number)
    static let trustedProxies = GatewayOption("trusted-proxy", .list)
    static let tokenFormat = GatewayOption("token-format")
    static let tokenLifetime = GatewayOption("token-lifetime", .number)
    static let schemes = GatewayOption("schemes", .list)
    static let jwksKeys = GatewayOption("jwks-key", .list)
    static let externalScheme = GatewayOption("external-scheme")
    static let publicPaths = GatewayOption("public-path", .list)
    static let tlsCertificate = GatewayOption("tls.cert")
    static let tlsKey = GatewayOption("tls.key")
    static let headerTimeout = GatewayOption("header-timeout", .number)
    static let idleTimeout = GatewayOption("idle-timeout", .number)
    static let maxConnections = GatewayOption("max-connections", .number)
    static let maxBody = GatewayOption("max-body", .number)
    static let logLevel = GatewayOption("log-level")
    static let logFormat = GatewayOption("log-format")
    static let accessLog = GatewayOption("access-log")

    /// Every setting, in the order `--print-config` shows them.
    static let all: [GatewayOption] = [
        .listen, .serverName, .adminListen, .tlsCertificate, .tlsKey, .dataDirectory, .secretFile, .store, .passwordFile,
        .upstream, .upstreamCA, .upstreamTimeout, .trustedProxies, .tokenFormat, .tokenLifetime, .schemes, .jwksKeys, .externalScheme, .publicPaths,
        .headerTimeout, .idleTimeout, .maxConnections, .maxBody, .logLevel, .logFormat, .accessLog,
    ]
}
