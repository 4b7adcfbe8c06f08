import Crypto
import SSHKeys

/// A challenge: what the server asks the client to sign, HMAC-protected so that the server
/// keeps no state.
public struct CRTAuthChallenge: Hashable, Sendable, MACProtected {
    /// Whether one of `secrets` made this challenge's MAC (constant-time comparison).
    public func isAuthentic(secrets: [SymmetricKey]) -> Bool { self.isAuthentic(PreparedSecrets(secrets)) }

    public let version: CRTAuthVersion
    /// Unix seconds.
    public let validFrom: UInt64
    /// Unix seconds.
    public let validTo: UInt64
    public let username: String
    /// The complete message bytes, exactly as produced or received: when parsed out of a
    /// response, a slice of it (no copy), so every range below is an index of its base array.
    let storage: ArraySlice<UInt8>
    /// The bytes the MAC covers.
    let macInput: Range<Int>
    let macRange: Range<Int>
    // The byte fields stay in `bytes` until asked for: a server checking a response needs only
    // the server name, and only to compare it.
    private let uniqueDataRange: Range<Int>
    private let fingerprintRange: Range<Int>
    private let serverNameRange: Range<Int>

    /// The complete message bytes, exactly as produced or received.
    public var bytes: [UInt8] { Array(self.storage) }

    public var uniqueData: [UInt8] { Array(self.storage[self.uniqueDataRange]) }
    /// v0/v1: the 6-byte crtauth fingerprint of the user's key. v2: SHA-256 fingerprints (32
    /// bytes each) of the keys the server accepts, concatenated.
    public var fingerprint: [UInt8] { Array(self.storage[self.fingerprintRange]) }
    /// The server name (validated as UTF-8 when parsed).
    public var serverName: String { String(decoding: self.storage[self.serverNameRange], as: UTF8.self) }
    /// Whether the server name is `expected` (compared as bytes, making no string).
    func hasServerName(_ expected: [UInt8]) -> Bool {
        self.serverNameRange.count == expected.count && expected.withUnsafeBytes { expected in
            self.storage.withBytes(at: self.serverNameRange) { name in
                // Not `elementsEqual`: its generic iteration costs several times this loop.
                for i in 0..<name.count where name[i] != expected[i] { return false }
                return true
            }
        }
    }

    /// What the client signs: the whole message for v1, the inner XDR challenge for v0.
    public var signedBytes: ArraySlice<UInt8> {
        self.version == .v0 ? self.storage[self.macInput] : self.storage
    }

    /// The base64url text.
    public var encoded: String { Base64URL.encode(self.storage) }

    // Equal when the message bytes are: every field is read from them.
    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.storage == rhs.storage }
    public func hash(into hasher: inout Hasher) { hasher.combine(self.storage) }

    /// Builds and MACs a challenge.
    package init(
        version: CRTAuthVersion, uniqueData: [UInt8], validFrom: UInt64, validTo: UInt64,
        fingerprint: [UInt8], serverName: String, username: String, secret: SymmetricKey
    ) {
        self.init(version: version, uniqueData: uniqueData, validFrom: validFrom, validTo: validTo, fingerprint: fingerprint, serverName: serverName, username: username, secrets: PreparedSecrets([secret]))
    }

    init(
        version: CRTAuthVersion, uniqueData: [UInt8], validFrom: UInt64, validTo: UInt64,
        fingerprint: [UInt8], serverName: String, username: String, secrets: PreparedSecrets
    ) {
        self.version = version
        self.validFrom = validFrom
        self.validTo = validTo
        self.username = username
        if version == .v0 {
            var inner = XDRWriter()
            inner.writeMagic(Magic.challenge)
            let unique = inner.writeFixed(uniqueData)
            inner.writeUInt32(UInt32(truncatingIfNeeded: validFrom))
            inner.writeUInt32(UInt32(truncatingIfNeeded: validTo))
            let fingerprint = inner.writeOpaque(fingerprint)
            let server = inner.writeString(serverName)
            inner.writeString(username)
            let bytes: [UInt8]
            (bytes, self.macInput, self.macRange) = VerifiablePayload.wrap(inner.bytes, secrets: secrets)
            self.storage = bytes[...]
            // The inner payload starts after the wrapper's magic, MAC and length.
            let shift = self.macInput.lowerBound
            (self.uniqueDataRange, self.fingerprintRange, self.serverNameRange) = (unique.shifted(by: shift), fingerprint.shifted(by: shift), server.shifted(by: shift))
        } else {
            var writer = MessagePackWriter()
            writer.writeUInt(UInt64(version.rawValue))
            writer.writeUInt(UInt64(Magic.challenge))
            self.uniqueDataRange = writer.writeBinary(uniqueData)
            writer.writeUInt(validFrom)
            writer.writeUInt(validTo)
            self.fingerprintRange = writer.writeBinary(fingerprint)
            self.serverNameRange = writer.writeString(serverName)
            writer.writeString(username)
            let bytes: [UInt8]
            (bytes, self.macInput, self.macRange) = writer.finishWithMAC(secrets)
            self.storage = bytes[...]
        }
    }

    /// Parses a challenge (v0 by its first byte `v`, v1/v2 by their version byte) without
    /// checking its MAC — a client cannot; a server calls ``isAuthentic(secrets:)``.
    public init(decoding text: String) throws {
        try self.init(bytes: try decodeMessage(text, what: "challenge"))
    }

    /// Parses challenge bytes; see ``init(decoding:)``.
    public init(bytes: [UInt8]) throws {
        try self.init(slice: bytes[...])
    }

    /// Parses challenge bytes in place (a response's, without copying them).
    init(slice bytes: ArraySlice<UInt8>) throws {
        guard let first = bytes.first else { throw CRTAuthError(.truncated, "the challenge is empty") }
        // Each parser builds the value once: assigning `self`'s fields on two paths made the
        // compiler build it in a temporary and copy it out (reference counts more).
        self = first == Magic.verifiable ? try Self(v0: bytes) : try Self(messagePack: bytes)
    }

    private init(v0 bytes: ArraySlice<UInt8>) throws {
        let (macInput, macRange) = try VerifiablePayload.unwrap(bytes, what: "v0 challenge", limit: 4096)
        var inner = XDRReader(bytes[macInput], what: "v0 challenge payload")
        try inner.readMagic(Magic.challenge)
        let uniqueData = try inner.readFixed(CRTAuthLimits.uniqueDataLength, "unique data").indices
        let validFrom = UInt64(try inner.readUInt32("valid_from"))
        let validTo = UInt64(try inner.readUInt32("valid_to"))
        let fingerprint = try inner.readOpaque("fingerprint", limit: CRTAuthLimits.fingerprintLength).indices
        let serverName = try inner.readUTF8("server name", limit: CRTAuthLimits.maximumServerNameLength).indices
        let username = try inner.readString("username", limit: CRTAuthLimits.maximumUsernameLength)
        try inner.expectEnd()
        self.init(
            version: .v0, validFrom: validFrom, validTo: validTo, username: username, storage: bytes, macInput: macInput, macRange: macRange,
            uniqueDataRange: uniqueData, fingerprintRange: fingerprint, serverNameRange: serverName
        )
    }

    private init(messagePack bytes: ArraySlice<UInt8>) throws {
        var reader = MessagePackReader(bytes, what: "challenge")
        let version = try reader.readHeader(Magic.challenge, "challenge", versions: .v1 ... .v2)
        let uniqueLength = version == .v1 ? CRTAuthLimits.uniqueDataLength : CRTAuthV2.uniqueDataLength
        let uniqueData = try reader.readBinaryRange("unique data", limit: uniqueLength)
        guard uniqueData.count == uniqueLength else {
            throw CRTAuthError(.malformed, "challenge unique data must be \(uniqueLength) bytes")
        }
        let validFrom = try reader.readUInt("valid_from")
        let validTo = try reader.readUInt("valid_to")
        let fingerprint = try reader.readBinaryRange("fingerprint", limit: version == .v1 ? CRTAuthLimits.fingerprintLength : CRTAuthV2.maximumOfferedKeys * 32)
        if version == .v1, fingerprint.count != CRTAuthLimits.fingerprintLength {
            throw CRTAuthError(.malformed, "a v1 challenge fingerprint is 6 bytes")
        }
        if version == .v2, fingerprint.isEmpty || fingerprint.count % 32 != 0 {
            throw CRTAuthError(.malformed, "a v2 challenge carries whole SHA-256 fingerprints")
        }
        let serverName = try reader.readUTF8Range("server name", limit: CRTAuthLimits.maximumServerNameLength)
        let username = try reader.readString("username", limit: 1024)
        let (macInput, macRange) = try reader.readFinalMAC()
        self.init(
            version: version, validFrom: validFrom, validTo: validTo, username: username, storage: bytes, macInput: macInput, macRange: macRange,
            uniqueDataRange: uniqueData, fingerprintRange: fingerprint, serverNameRange: serverName
        )
    }

    private init(
        version: CRTAuthVersion, validFrom: UInt64, validTo: UInt64, username: String, storage: ArraySlice<UInt8>, macInput: Range<Int>, macRange: Range<Int>,
        uniqueDataRange: Range<Int>, fingerprintRange: Range<Int>, serverNameRange: Range<Int>
    ) {
        self.version = version
        self.validFrom = validFrom
        self.validTo = validTo
        self.username = username
        self.storage = storage
        self.macInput = macInput
        self.macRange = macRange
        self.uniqueDataRange = uniqueDataRange
        self.fingerprintRange = fingerprintRange
        self.serverNameRange = serverNameRange
    }
}
