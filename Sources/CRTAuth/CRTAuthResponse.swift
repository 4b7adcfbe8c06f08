import SSHKeys

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
