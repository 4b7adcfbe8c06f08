import Foundation

/// An OpenSSH certificate (`*-cert-v01@openssh.com`, draft-miller-ssh-cert): a public key
/// signed by a CA key together with its identity, principals and validity window.
public struct SSHCertificate: Hashable, Sendable {
    /// User or host certificate.
    public struct Kind: Hashable, Sendable, CustomStringConvertible {
        /// The raw value on the wire (1 user, 2 host).
        public let rawValue: UInt32
        public static let user = Kind(rawValue: 1)
        public static let host = Kind(rawValue: 2)
        public var description: String { self.rawValue == 1 ? "user" : self.rawValue == 2 ? "host" : "unknown(\(self.rawValue))" }
    }

    /// The certified key.
    public let key: SSHPublicKey
    /// The CA's random nonce.
    public let nonce: [UInt8]
    /// The serial number chosen by the CA.
    public let serial: UInt64
    /// User or host.
    public let kind: Kind
    /// The key identifier the CA wrote (logged by sshd).
    public let keyID: String
    /// The principals (user or host names); empty means any.
    public let principals: [String]
    /// Start of validity, seconds since the epoch.
    public let validAfter: UInt64
    /// End of validity (exclusive), seconds since the epoch; `UInt64.max` means forever.
    public let validBefore: UInt64
    /// Critical options, in wire order (`force-command`, `source-address`, `verify-required`).
    public let criticalOptions: [(name: String, data: [UInt8])]
    /// Extensions, in wire order (`permit-pty`, `no-touch-required`, …).
    public let extensions: [(name: String, data: [UInt8])]
    /// The CA's public key.
    public let signatureKey: SSHPublicKey
    /// The CA's signature over every byte before it.
    public let signature: SSHSignature
    /// The whole certificate blob.
    public let wireBlob: [UInt8]
    /// The bytes the CA signed.
    let signedBytes: ArraySlice<UInt8>

    /// Most principals we accept in one certificate (OpenSSH allows 256).
    public static let maximumPrincipals = 256

    /// Parses a certificate blob. This does not check the CA signature: call ``verifyCASignature(policy:)``.
    public init(wireBlob: some Collection<UInt8>) throws {
        let blob = Array(wireBlob)
        var reader = SSHWireReader(blob, what: "certificate")
        let name = try reader.readText(field: "certificate type", limit: 128)
        guard let keyType = SSHKeyType.forCertificateName(name) else {
            throw SSHKeyError(.unsupportedAlgorithm, "unsupported certificate type \(SSHKeyError.quoted(name))")
        }
        self.nonce = Array(try reader.readString(field: "nonce", limit: 1024))
        self.key = SSHPublicKey(backing: try SSHPublicKey.readKeyFields(type: keyType, from: &reader))
        self.serial = try reader.readUInt64()
        self.kind = Kind(rawValue: try reader.readUInt32())
        guard self.kind == .user || self.kind == .host else {
            throw SSHKeyError(.invalidCertificate, "certificate type \(self.kind.rawValue) is neither user nor host")
        }
        self.keyID = try reader.readText(field: "key id", limit: 4096)
        var principalReader = SSHWireReader(try reader.readString(field: "principals"), what: "certificate principals")
        var principals: [String] = []
        while !principalReader.isAtEnd {
            guard principals.count < Self.maximumPrincipals else {
                throw SSHKeyError(.limitExceeded, "more than \(Self.maximumPrincipals) principals")
            }
            principals.append(try principalReader.readText(field: "principal", limit: 1024))
        }
        self.principals = principals
        self.validAfter = try reader.readUInt64()
        self.validBefore = try reader.readUInt64()
        self.criticalOptions = try Self.readOptions(try reader.readString(field: "critical options"), what: "critical options")
        self.extensions = try Self.readOptions(try reader.readString(field: "extensions"), what: "extensions")
        _ = try reader.readString(field: "reserved")
        let caBlob = try reader.readString(field: "signature key", limit: 8192)
        self.signatureKey = try SSHPublicKey(wireBlob: caBlob)
        let signedLength = blob.count - reader.remainingCount
        self.signature = try SSHSignature(wireBlob: try reader.readString(field: "signature"))
        try reader.expectEnd()
        self.signedBytes = blob[..<signedLength]
        self.wireBlob = blob
    }

    private static func readOptions(_ bytes: ArraySlice<UInt8>, what: String) throws -> [(name: String, data: [UInt8])] {
        var reader = SSHWireReader(bytes, what: "certificate \(what)")
        var out: [(name: String, data: [UInt8])] = []
        while !reader.isAtEnd {
            guard out.count < SSHWireLimits.maxListEntries else {
                throw SSHKeyError(.limitExceeded, "too many certificate \(what)")
            }
            let name = try reader.readText(field: "option name", limit: 256)
            if let last = out.last, last.name >= name {
                throw SSHKeyError(.invalidCertificate, "certificate \(what) are not sorted and unique")
            }
            out.append((name, Array(try reader.readString(field: "option data"))))
        }
        return out
    }

    /// The wire name of this certificate's type.
    public var typeName: String { self.key.type.certificateName }

    /// Checks the CA's signature over the certificate. SHA-1 `ssh-rsa` CA signatures are refused
    /// by the standard policy, as OpenSSH has done since 8.2.
    public func verifyCASignature(policy: SSHVerificationPolicy = .standard) throws {
        do {
            try self.signatureKey.verify(self.signature, for: self.signedBytes, policy: policy)
        } catch let error as SSHKeyError {
            throw SSHKeyError(.invalidCertificate, "the CA signature on the certificate is not valid: \(error.message)")
        }
    }

    /// Whether `time` (seconds since the epoch) is in `[validAfter, validBefore)`.
    public func isValid(at time: UInt64) -> Bool { self.validAfter <= time && time < self.validBefore }

    /// The OpenSSH `-cert.pub` line.
    public func openSSHLine(comment: String = "") -> String {
        let base = self.typeName + " " + Data(self.wireBlob).base64EncodedString()
        return comment.isEmpty ? base : base + " " + comment
    }

    public static func == (lhs: SSHCertificate, rhs: SSHCertificate) -> Bool { lhs.wireBlob == rhs.wireBlob }
    public func hash(into hasher: inout Hasher) { hasher.combine(self.wireBlob) }
}

/// A public key or a certificate: what SSHSIG blobs, agents and `.pub` files may hold.
public enum SSHPublicIdentity: Hashable, Sendable {
    case key(SSHPublicKey)
    case certificate(SSHCertificate)

    /// Parses a plain key blob or a certificate blob.
    public init(wireBlob: some Collection<UInt8>) throws {
        var reader = SSHWireReader(wireBlob, what: "public key blob")
        let name = try reader.readString(field: "key type", limit: 128)
        if SSHKeyType.forCertificateName(utf8: name) != nil {
            self = .certificate(try SSHCertificate(wireBlob: wireBlob))
        } else {
            self = .key(try SSHPublicKey(wireBlob: wireBlob))
        }
    }

    /// Parses a `.pub` or `-cert.pub` line, checking that its label agrees with the blob.
    public init(openSSHLine line: some StringProtocol) throws {
        guard line.utf8.count <= SSHPublicKey.maximumLineLength else {
            throw SSHKeyError(.limitExceeded, "public key line is longer than \(SSHPublicKey.maximumLineLength) bytes")
        }
        let parts = line.split(maxSplits: 2, whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" })
        guard parts.count >= 2 else { throw SSHKeyError(.invalidLine, "a public key line is 'TYPE BASE64 [COMMENT]'") }
        self = try SSHPublicIdentity(wireBlob: try decodeBase64(parts[1], what: "public key"))
        guard parts[0] == self.typeName else {
            throw SSHKeyError(.keyTypeMismatch, "the line says \(SSHKeyError.quoted(parts[0])) but the blob is \(self.typeName)")
        }
    }

    /// The plain key (the certified key for a certificate).
    public var publicKey: SSHPublicKey {
        switch self {
        case .key(let key): key
        case .certificate(let cert): cert.key
        }
    }

    /// The wire blob.
    public var wireBlob: [UInt8] {
        switch self {
        case .key(let key): key.wireBlob
        case .certificate(let cert): cert.wireBlob
        }
    }

    /// The type name on the wire.
    public var typeName: String {
        switch self {
        case .key(let key): key.type.name
        case .certificate(let cert): cert.typeName
        }
    }
}
