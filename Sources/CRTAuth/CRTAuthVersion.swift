import AuthCore

/// A crtauth protocol version: 0 (legacy XDR), 1 (msgpack, Spotify's current), 2 (ours).
public struct CRTAuthVersion: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let rawValue: UInt8
    private init(_ rawValue: UInt8) { self.rawValue = rawValue }
    public static let v0 = CRTAuthVersion(0)
    public static let v1 = CRTAuthVersion(1)
    public static let v2 = CRTAuthVersion(2)
    /// The version with this number on the wire, if there is one.
    init?(number: UInt64) {
        guard number <= 2 else { return nil }
        self.init(UInt8(number))
    }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { "v\(self.rawValue)" }
}

extension IdentityScheme {
    /// A crtauth handshake of `version`: `crtauth-v0`, `-v1` or `-v2`.
    public static func handshake(_ version: CRTAuthVersion) -> IdentityScheme { .crtauthHandshake(version: version.rawValue) }
}
