import Crypto
import SSHKeys

/// A token: who, and for how long, HMAC-protected. v0 is what Python servers issue and
/// accept (XDR, HMAC-SHA1); v1 what Java servers issue and accept (msgpack, HMAC-SHA256).
public struct CRTAuthToken: Hashable, Sendable, MACProtected {
    /// Whether one of `secrets` made this token's MAC (constant-time comparison).
    public func isAuthentic(secrets: [SymmetricKey]) -> Bool { self.isAuthentic(PreparedSecrets(secrets)) }

    public let version: CRTAuthVersion
    public let validFrom: UInt64
    public let validTo: UInt64
    public let username: String
    public let bytes: [UInt8]
    let macInput: Range<Int>
    let macRange: Range<Int>
    var storage: ArraySlice<UInt8> { self.bytes[...] }

    /// The base64url text.
    public var encoded: String { Base64URL.encode(self.bytes) }

    /// Builds and MACs a token.
    package init(version: CRTAuthVersion, validFrom: UInt64, validTo: UInt64, username: String, secret: SymmetricKey) {
        self.init(version: version, validFrom: validFrom, validTo: validTo, username: username, secrets: PreparedSecrets([secret]))
    }

    init(version: CRTAuthVersion, validFrom: UInt64, validTo: UInt64, username: String, secrets: PreparedSecrets) {
        self.version = version
        self.validFrom = validFrom
        self.validTo = validTo
        self.username = username
        if version == .v0 {
            var inner = XDRWriter()
            inner.writeMagic(Magic.token)
            inner.writeUInt32(UInt32(truncatingIfNeeded: validFrom))
            inner.writeUInt32(UInt32(truncatingIfNeeded: validTo))
            inner.writeString(username)
            (self.bytes, self.macInput, self.macRange) = VerifiablePayload.wrap(inner.bytes, secrets: secrets)
        } else {
            var writer = MessagePackWriter()
            writer.writeUInt(1)
            writer.writeUInt(UInt64(Magic.token))
            writer.writeUInt(validFrom)
            writer.writeUInt(validTo)
            writer.writeString(username)
            (self.bytes, self.macInput, self.macRange) = writer.finishWithMAC(secrets)
        }
    }

    /// Parses a token (v0 by first byte `v`, v1 by `01`) without checking its MAC.
    public init(decoding text: String) throws {
        try self.init(bytes: try decodeMessage(text, what: "token"))
    }

    public init(bytes: [UInt8]) throws {
        let fields = try Self.parse(bytes[...])
        (self.version, self.validFrom, self.validTo, self.username) = (fields.version, fields.validFrom, fields.validTo, fields.username)
        (self.bytes, self.macInput, self.macRange) = (bytes, fields.macInput, fields.macRange)
    }

    /// A token's fields and where its MAC is, read from its bytes (an array's, or scratch space
    /// a token is decoded into to be checked without making an array).
    static func parse<Bytes: RandomAccessCollection<UInt8>>(_ bytes: Bytes) throws -> (version: CRTAuthVersion, validFrom: UInt64, validTo: UInt64, username: String, macInput: Range<Int>, macRange: Range<Int>) where Bytes.Index == Int {
        guard let first = bytes.first else { throw CRTAuthError(.truncated, "the token is empty") }
        if first == Magic.verifiable {
            let (macInput, macRange) = try VerifiablePayload.unwrap(bytes, what: "v0 token", limit: 1024)
            var inner = XDRReader(bytes[macInput], what: "v0 token payload")
            try inner.readMagic(Magic.token)
            let validFrom = UInt64(try inner.readUInt32("valid_from"))
            let validTo = UInt64(try inner.readUInt32("valid_to"))
            let username = try inner.readString("username", limit: 1024)
            try inner.expectEnd()
            return (.v0, validFrom, validTo, username, macInput, macRange)
        }
        var reader = MessagePackReader(bytes, what: "token")
        _ = try reader.readHeader(Magic.token, "token", versions: .v1 ... .v1)
        let validFrom = try reader.readUInt("valid_from")
        let validTo = try reader.readUInt("valid_to")
        let username = try reader.readString("username", limit: 1024)
        let (macInput, macRange) = try reader.readFinalMAC()
        return (.v1, validFrom, validTo, username, macInput, macRange)
    }
}
