/// How an identity was established. The one place where each scheme's name (in logs, metrics,
/// `X-Authenticated-Scheme` and `/whoami`) is written: `chap` (a crtauth token),
/// `crtauth-v0`/`-v1`/`-v2` (a handshake), `jwt`, `signature` (RFC 9421) and `serveradmin`.
public struct IdentityScheme: Hashable, Sendable, CustomStringConvertible {
    private enum Backing: Hashable, Sendable {
        case chap, handshake(version: UInt8?), jwt, signature, serveradmin
    }
    private let backing: Backing
    private init(_ backing: Backing) { self.backing = backing }

    /// A request carrying a crtauth token (`Authorization: chap:…`).
    public static let chap = IdentityScheme(.chap)
    /// A crtauth handshake of protocol version `version` (`CRTAuth` spells it `.handshake(.v2)`).
    public static func crtauthHandshake(version: UInt8) -> IdentityScheme { IdentityScheme(.handshake(version: version)) }
    /// A crtauth handshake whose version is not known (a response that failed), for logs and metrics.
    public static let handshakeOfUnknownVersion = IdentityScheme(.handshake(version: nil))
    /// An asymmetric_jwt_auth JWT (`Authorization: JWT …`).
    public static let jwt = IdentityScheme(.jwt)
    /// An RFC 9421 HTTP message signature.
    public static let signature = IdentityScheme(.signature)
    /// serveradmin's `X-Timestamp` / `X-PublicKeys` / `X-Signatures`.
    public static let serveradmin = IdentityScheme(.serveradmin)

    /// The scheme's name.
    public var name: String {
        switch self.backing {
        case .chap: "chap"
        // The versions there are as literals: a name is made for every decision logged.
        case .handshake(0): "crtauth-v0"
        case .handshake(1): "crtauth-v1"
        case .handshake(2): "crtauth-v2"
        case .handshake(let version?): "crtauth-v\(version)"
        case .handshake(nil): "crtauth"
        case .jwt: "jwt"
        case .signature: "signature"
        case .serveradmin: "serveradmin"
        }
    }

    public var description: String { self.name }

    /// The scheme a server accepts for this kind of identity (a handshake and its tokens: `chap`).
    public var authenticationScheme: AuthenticationScheme {
        switch self.backing {
        case .chap, .handshake: .chap
        case .jwt: .jwt
        case .signature: .signature
        case .serveradmin: .serveradmin
        }
    }

    /// Whether the credential travels in `Authorization` (a proxy must not pass it on).
    public var usesAuthorizationHeader: Bool { self == .chap || self == .jwt }
}
