import Crypto

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

/// Named limits of the crtauth wire format.
public enum CRTAuthLimits {
    /// Longest username (Python's `create_challenge` refuses more than 64).
    public static let maximumUsernameLength = 64
    /// Longest server name (Python's `AuthServer` refuses more than 255).
    public static let maximumServerNameLength = 255
    /// Longest base64url message we decode: a v2 response with a certificate and a 16384-bit
    /// RSA signature fits in well under this.
    public static let maximumEncodedLength = 64 * 1024
    /// Longest RSA signature (16384-bit modulus).
    public static let maximumSignatureLength = 2048
    /// Size of a challenge's random `unique_data`.
    public static let uniqueDataLength = 20
    /// Size of the key fingerprint in v0/v1 challenges.
    public static let fingerprintLength = 6
}

/// Magic bytes of the message kinds.
enum Magic {
    static let request = UInt8(ascii: "q")
    static let challenge = UInt8(ascii: "c")
    static let response = UInt8(ascii: "r")
    static let token = UInt8(ascii: "t")
    static let verifiable = UInt8(ascii: "v")
}

/// base64url-decodes a message, enforcing the size limit.
func decodeMessage(_ text: String, what: String) throws -> [UInt8] {
    try withDecodedMessage(text, what: what) { Array($0) }
}

/// base64url-decodes a message into scratch space, enforcing the size limit, and hands it to
/// `body` (no array is made).
func withDecodedMessage<Result>(_ text: String, what: String, _ body: (UnsafeRawBufferPointer) throws -> Result) throws -> Result {
    guard !text.isEmpty else { throw CRTAuthError(.truncated, "the \(what) is empty") }
    guard text.utf8.count <= CRTAuthLimits.maximumEncodedLength else {
        throw CRTAuthError(.tooLarge, "the \(what) is longer than \(CRTAuthLimits.maximumEncodedLength) characters")
    }
    var text = text
    guard let result = try text.withUTF8({ try Base64URL.withDecoded(utf8: $0, body) }) else {
        throw CRTAuthError(.malformed, "the \(what) is not base64url")
    }
    return result
}

// MARK: - Request

/// `X-CHAP: request:…` — who wants a challenge.
public struct CRTAuthRequest: Hashable, Sendable {
    public let version: CRTAuthVersion
    public let username: String

    public init(username: String, version: CRTAuthVersion = .v1) {
        self.username = username
        self.version = version
    }

    /// The text sent on the wire: the bare username for v0, base64url msgpack for v1 and v2.
    public var encoded: String {
        if self.version == .v0 { return self.username }
        var writer = MessagePackWriter()
        writer.writeUInt(UInt64(self.version.rawValue))
        writer.writeUInt(UInt64(Magic.request))
        writer.writeString(self.username)
        return Base64URL.encode(writer.bytes)
    }

    /// Classifies a request value as a server must (crtauth.md §5.1): a value that decodes to a
    /// v1/v2 request is one; anything else is a v0 bare username. Unlike Python, a 32–255-byte
    /// username in str16 form is read as the v1 request it is. Fields after the username are
    /// ignored (PROTOCOL.md's forward-compatibility rule).
    public static func classify(_ value: String) -> CRTAuthRequest {
        if value.utf8.count % 4 != 1, let bytes = Base64URL.decode(value), bytes.count >= 3,
           bytes[0] == 1 || bytes[0] == 2, bytes[1] == Magic.request {
            var reader = MessagePackReader(bytes[2...], what: "request")
            if let username = try? reader.readString("username", limit: 1024), !username.isEmpty {
                return CRTAuthRequest(username: username, version: bytes[0] == 1 ? .v1 : .v2)
            }
        }
        return CRTAuthRequest(username: value, version: .v0)
    }

    /// Parses a base64url v1/v2 request strictly (trailing fields allowed, as the spec says).
    public init(decoding text: String) throws {
        let bytes = try decodeMessage(text, what: "request")
        var reader = MessagePackReader(bytes, what: "request")
        let version = try reader.readHeader(Magic.request, "request", versions: .v1 ... .v2)
        self.username = try reader.readString("username", limit: 1024)
        self.version = version
    }
}

// MARK: - Challenge

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

// MARK: - Response

/// A response: the challenge exactly as received plus the client's signature over it.
public struct CRTAuthResponse: Hashable, Sendable {
    public let version: CRTAuthVersion
    // Slices of the decoded message when parsed (a server reads them in place).
    let challengeSlice: ArraySlice<UInt8>
    let signatureSlice: ArraySlice<UInt8>

    /// The challenge bytes as the client received them.
    public var challengeBytes: [UInt8] { Array(self.challengeSlice) }
    /// v0/v1: raw RSA PKCS#1 v1.5 SHA-1 signature. v2: an SSHSIG blob.
    public var signature: [UInt8] { Array(self.signatureSlice) }

    public init(version: CRTAuthVersion, challengeBytes: [UInt8], signature: [UInt8]) {
        self.version = version
        self.challengeSlice = challengeBytes[...]
        self.signatureSlice = signature[...]
    }

    /// The wire bytes.
    public var bytes: [UInt8] {
        if self.version == .v0 {
            var writer = XDRWriter()
            writer.writeMagic(Magic.response)
            writer.writeOpaque(self.signatureSlice)
            writer.writeOpaque(self.challengeSlice)
            return writer.bytes
        }
        var writer = MessagePackWriter()
        writer.writeUInt(UInt64(self.version.rawValue))
        writer.writeUInt(UInt64(Magic.response))
        writer.writeBinary(self.challengeSlice)
        writer.writeBinary(self.signatureSlice)
        return writer.bytes
    }

    /// The base64url text.
    public var encoded: String { Base64URL.encode(self.bytes) }

    /// Parses a response (v0 by its first byte `r`, v1/v2 by version byte).
    public init(decoding text: String) throws {
        let bytes = try decodeMessage(text, what: "response")
        guard let first = bytes.first else { throw CRTAuthError(.truncated, "the response is empty") }
        // Fields are read into locals and `self` is assigned once: assigning it on two paths
        // made the compiler build it in a temporary and copy it out (a reference count more).
        let version: CRTAuthVersion, challenge: ArraySlice<UInt8>, signature: ArraySlice<UInt8>
        if first == Magic.response {
            var reader = XDRReader(bytes, what: "v0 response")
            try reader.readMagic(Magic.response)
            signature = try reader.readOpaque("signature", limit: CRTAuthLimits.maximumSignatureLength)
            challenge = try reader.readOpaque("challenge", limit: 4096)
            try reader.expectEnd()
            version = .v0
        } else {
            var reader = MessagePackReader(bytes, what: "response")
            version = try reader.readHeader(Magic.response, "response", versions: .v1 ... .v2)
            challenge = try reader.readBinary("challenge", limit: 8192)
            signature = try reader.readBinary("signature", limit: version == .v1 ? CRTAuthLimits.maximumSignatureLength : 48 * 1024)
            try reader.expectEnd()
        }
        self.version = version
        self.challengeSlice = challenge
        self.signatureSlice = signature
    }
}

// MARK: - Token

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

/// Constants of our crtauth v2 (see docs/PROTOCOL.md).
public enum CRTAuthV2 {
    /// v2 challenges carry 32 random bytes.
    public static let uniqueDataLength = 32
    /// Most key fingerprints one v2 challenge offers.
    public static let maximumOfferedKeys = 16
}

// MARK: - MACs shared by challenges and tokens

/// A message whose bytes carry a server MAC: HMAC-SHA1 for v0, HMAC-SHA256 for v1/v2.
protocol MACProtected {
    var version: CRTAuthVersion { get }
    /// The message; the ranges are its indices.
    var storage: ArraySlice<UInt8> { get }
    var macInput: Range<Int> { get }
    var macRange: Range<Int> { get }
}

extension MACProtected {
    func isAuthentic(_ secrets: PreparedSecrets) -> Bool {
        self.storage.withBytes(at: self.macRange) { mac in
            self.storage.withBytes(at: self.macInput) { secrets.isValid(mac, over: $0, version: self.version) }
        }
    }
}

/// v0's MAC wrapper: `'v' ‖ HMAC-SHA1(inner)[20] ‖ opaque(inner)`.
enum VerifiablePayload {
    static func wrap(_ inner: [UInt8], secrets: PreparedSecrets) -> (bytes: [UInt8], macInput: Range<Int>, macRange: Range<Int>) {
        var outer = XDRWriter()
        outer.writeMagic(Magic.verifiable)
        outer.writeFixed(secrets.sha1MAC(inner))
        outer.writeOpaque(inner)
        return (outer.bytes, 28..<(28 + inner.count), 4..<24)
    }

    /// Returns where the inner payload and the MAC are in `bytes`.
    static func unwrap<Bytes: RandomAccessCollection<UInt8>>(_ bytes: Bytes, what: String, limit: Int) throws -> (payload: Range<Int>, mac: Range<Int>) where Bytes.Index == Int {
        var outer = XDRReader(bytes, what: what)
        try outer.readMagic(Magic.verifiable)
        let mac = try outer.readFixed(20, "HMAC")
        let payload = try outer.readOpaque("payload", limit: limit)
        try outer.expectEnd()
        return (payload.startIndex..<payload.endIndex, mac.startIndex..<mac.endIndex)
    }
}

extension Range<Int> {
    func shifted(by offset: Int) -> Range<Int> { (self.lowerBound + offset)..<(self.upperBound + offset) }
}

extension MessagePackReader {
    /// Reads a v1/v2 message's version (one of `versions`) and magic byte.
    mutating func readHeader(_ magic: UInt8, _ kind: String, versions: ClosedRange<CRTAuthVersion>) throws -> CRTAuthVersion {
        let number = try self.readUInt("version")
        guard let version = CRTAuthVersion(number: number), versions.contains(version) else {
            throw CRTAuthError(.unsupportedVersion, "\(kind) version \(number) is not supported")
        }
        guard try self.readUInt("magic") == UInt64(magic) else {
            throw CRTAuthError(.wrongMessageType, "not a \(kind)")
        }
        return version
    }

    /// Reads the final 32-byte HMAC `bin`; returns what it covers and where it is.
    mutating func readFinalMAC() throws -> (input: Range<Int>, mac: Range<Int>) {
        let input = self.messageStart..<self.offset
        let mac = try self.readBinaryRange("HMAC", limit: 32)
        guard mac.count == 32 else { throw CRTAuthError(.malformed, "the HMAC must be 32 bytes") }
        try self.expectEnd()
        return (input, mac)
    }
}
