import Configuration

/// One setting of `crtauth serve`. Each has one name, used three ways: the flag `--NAME` (dots
/// as dashes: `--tls-cert`), the environment variable `CRTAUTH_NAME` (upper case, dots and
/// dashes as underscores: `CRTAUTH_TLS_CERT`) and the key NAME in the configuration file (dots
/// nest: `tls: {cert: …}`). A flag wins over a variable, a variable over the file, the file over
/// the default.
public struct GatewayOption: Hashable, Sendable, CustomStringConvertible {
    public enum Kind: Sendable {
        /// One string.
        case text
        /// A whole number.
        case number
        /// Several strings: a repeated flag, a comma-separated variable, an array in the file.
        case list

        public var configType: ConfigType {
            switch self {
            case .text: .string
            case .number: .int
            case .list: .stringArray
            }
        }
    }

    public let name: String
    public let kind: Kind

    public init(_ name: String, _ kind: Kind = .text) {
        self.name = name
        self.kind = kind
    }

    public var flag: String { "--" + self.name.replacingOccurrences(of: ".", with: "-") }
    public var variable: String { "CRTAUTH_" + String(self.name.uppercased().map { $0.isLetter || $0.isNumber ? $0 : "_" }) }
    public var key: AbsoluteConfigKey { AbsoluteConfigKey(self.name.split(separator: ".").map(String.init)) }
    public var description: String { self.name }

    public static let listen = GatewayOption("listen")
    public static let serverName = GatewayOption("server-name")
    public static let adminListen = GatewayOption("admin-listen")
    public static let dataDirectory = GatewayOption("data-dir")
    public static let secretFile = GatewayOption("secret-file")
    public static let store = GatewayOption("store")
    public static let passwordFile = GatewayOption("password-file")
    public static let upstream = GatewayOption("upstream")
    public static let upstreamCA = GatewayOption("upstream-ca")
    public static let upstreamTimeout = GatewayOption("upstream-timeout", .number)
    public static let trustedProxies = GatewayOption("trusted-proxy", .list)
    public static let tokenFormat = GatewayOption("token-format")
    public static let tokenLifetime = GatewayOption("token-lifetime", .number)
    public static let schemes = GatewayOption("schemes", .list)
    public static let jwksKeys = GatewayOption("jwks-key", .list)
    public static let externalScheme = GatewayOption("external-scheme")
    public static let publicPaths = GatewayOption("public-path", .list)
    public static let tlsCertificate = GatewayOption("tls.cert")
    public static let tlsKey = GatewayOption("tls.key")
    public static let headerTimeout = GatewayOption("header-timeout", .number)
    public static let idleTimeout = GatewayOption("idle-timeout", .number)
    public static let maxConnections = GatewayOption("max-connections", .number)
    public static let maxBody = GatewayOption("max-body", .number)
    public static let logLevel = GatewayOption("log-level")
    public static let logFormat = GatewayOption("log-format")
    public static let accessLog = GatewayOption("access-log")

    /// Every setting, in the order `--print-config` shows them.
    public static let all: [GatewayOption] = [
        .listen, .serverName, .adminListen, .tlsCertificate, .tlsKey, .dataDirectory, .secretFile, .store, .passwordFile,
        .upstream, .upstreamCA, .upstreamTimeout, .trustedProxies, .tokenFormat, .tokenLifetime, .schemes, .jwksKeys, .externalScheme, .publicPaths,
        .headerTimeout, .idleTimeout, .maxConnections, .maxBody, .logLevel, .logFormat, .accessLog,
    ]
}
