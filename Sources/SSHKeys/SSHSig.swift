import Crypto
import Foundation

// SSHSIG (OpenSSH PROTOCOL.sshsig, draft-josefsson-sshsig-format) is written by hand here: no
// package on this platform implements it.

/// The hash applied to the message before signing, as named in an SSHSIG blob.
public struct SSHSigHashAlgorithm: Hashable, Sendable, CustomStringConvertible {
    public let name: String
    private init(_ name: String) { self.name = name }
    public static let sha256 = SSHSigHashAlgorithm("sha256")
    /// ssh-keygen's default.
    public static let sha512 = SSHSigHashAlgorithm("sha512")

    public init?(name: String) {
        switch name {
        case "sha256": self = .sha256
        case "sha512": self = .sha512
        default: return nil
        }
    }

    func hash(_ message: some DataProtocol) -> [UInt8] {
        // Through the digest's bytes: `Array(digest)` copies element by element.
        self == .sha256 ? SHA256.hash(data: message).withUnsafeBytes { Array($0) } : SHA512.hash(data: message).withUnsafeBytes { Array($0) }
    }

    public var description: String { self.name }
}

/// The bytes an SSHSIG signer actually signs:
///
/// ```
/// byte[6] "SSHSIG" ‖ string namespace ‖ string reserved ("") ‖ string hash_algorithm ‖ string H(message)
/// ```
///
/// The magic prefix keeps them apart from SSH user-authentication signatures.
public struct SSHSigSignedData: Sendable, Hashable {
    public let namespace: String
    public let hashAlgorithm: SSHSigHashAlgorithm
    public let messageHash: [UInt8]

    /// Hashes `message` for signing under `namespace`.
    public init(message: some DataProtocol, namespace: String, hashAlgorithm: SSHSigHashAlgorithm) {
        self.namespace = namespace
        self.hashAlgorithm = hashAlgorithm
        self.messageHash = hashAlgorithm.hash(message)
    }

    /// Uses an already computed hash of the message (for streaming large files).
    public init(messageHash: [UInt8], namespace: String, hashAlgorithm: SSHSigHashAlgorithm) {
        self.namespace = namespace
        self.hashAlgorithm = hashAlgorithm
        self.messageHash = messageHash
    }

    /// The serialized bytes that are signed.
    public var bytes: [UInt8] {
        var writer = SSHWireWriter()
        writer.writeRaw(SSHSig.magic)
        writer.writeString(self.namespace)
        writer.writeString([UInt8]())
        writer.writeString(self.hashAlgorithm.name)
        writer.writeString(self.messageHash)
        return writer.bytes
    }
}

/// An SSHSIG signature, as `ssh-keygen -Y sign` writes it.
public struct SSHSig: Hashable, Sendable {
    static let magic: [UInt8] = Array("SSHSIG".utf8)
    static let version: UInt32 = 1
    static let armorBegin = "-----BEGIN SSH SIGNATURE-----"
    static let armorEnd = "-----END SSH SIGNATURE-----"
    /// Longest namespace we accept.
    public static let maximumNamespaceLength = 1024
    /// Longest armored signature we read (a 16384-bit RSA certificate signer fits easily).
    public static let maximumArmoredLength = 64 * 1024

    /// The signer's key or certificate.
    public let signer: SSHPublicIdentity
    /// The namespace the signature is bound to (`file`, `git`, `api@example.com`…).
    public let namespace: String
    /// The message hash algorithm.
    public let hashAlgorithm: SSHSigHashAlgorithm
    /// The signature over ``SSHSigSignedData``.
    public let signature: SSHSignature

    public init(signer: SSHPublicIdentity, namespace: String, hashAlgorithm: SSHSigHashAlgorithm, signature: SSHSignature) {
        self.signer = signer
        self.namespace = namespace
        self.hashAlgorithm = hashAlgorithm
        self.signature = signature
    }

    /// Signs `message` under `namespace` (which must not be empty).
    public static func sign(
        _ message: some DataProtocol,
        namespace: String,
        hashAlgorithm: SSHSigHashAlgorithm = .sha512,
        with signer: some Signer
    ) async throws -> SSHSig {
        try await self.sign(SSHSigSignedData(message: message, namespace: namespace, hashAlgorithm: hashAlgorithm), with: signer)
    }

    /// Signs prepared ``SSHSigSignedData`` (its namespace must not be empty).
    public static func sign(_ data: SSHSigSignedData, with signer: some Signer) async throws -> SSHSig {
        let namespace = data.namespace, hashAlgorithm = data.hashAlgorithm
        guard !namespace.isEmpty, namespace.utf8.count <= maximumNamespaceLength else {
            throw SSHKeyError(.invalidEncoding, "an SSHSIG namespace must be 1 to \(maximumNamespaceLength) bytes")
        }
        // RSA: SHA-512 for sha512 messages, SHA-256 for sha256 (as OpenSSH ≥ 10.0 does).
        let algorithm: SSHSignatureAlgorithm? = signer.publicKey.type == .rsa ? (hashAlgorithm == .sha256 ? .rsaSHA256 : .rsaSHA512) : nil
        let signature = try await signer.sign(data.bytes, algorithm: algorithm)
        return SSHSig(signer: signer.identity, namespace: namespace, hashAlgorithm: hashAlgorithm, signature: signature)
    }

    /// Parses the binary blob (after armor).
    public init(wireBlob: some Collection<UInt8>) throws {
        var reader = SSHWireReader(wireBlob, what: "SSH signature")
        guard try reader.readBytes(6, field: "magic").elementsEqual(Self.magic) else {
            throw SSHKeyError(.invalidEncoding, "not an SSH signature (bad magic)")
        }
        let version = try reader.readUInt32()
        guard version == Self.version else {
            throw SSHKeyError(.unsupportedAlgorithm, "unsupported SSH signature version \(version)")
        }
        self.signer = try SSHPublicIdentity(wireBlob: try reader.readString(field: "public key"))
        self.namespace = try reader.readText(field: "namespace", limit: Self.maximumNamespaceLength)
        guard !self.namespace.isEmpty else { throw SSHKeyError(.invalidEncoding, "the SSH signature has an empty namespace") }
        _ = try reader.readString(field: "reserved", limit: 4096)
        let hashName = try reader.readText(field: "hash algorithm", limit: 64)
        guard let hash = SSHSigHashAlgorithm(name: hashName) else {
            throw SSHKeyError(.unsupportedAlgorithm, "unsupported SSHSIG hash algorithm \(SSHKeyError.quoted(hashName))")
        }
        self.hashAlgorithm = hash
        self.signature = try SSHSignature(wireBlob: try reader.readString(field: "signature"))
        try reader.expectEnd()
    }

    /// Parses the armored text (`-----BEGIN SSH SIGNATURE-----` …).
    public init(armored text: some StringProtocol) throws {
        guard text.utf8.count <= Self.maximumArmoredLength else {
            throw SSHKeyError(.limitExceeded, "SSH signature is longer than \(Self.maximumArmoredLength) bytes")
        }
        let block = try PEMBlock(parsing: text)
        guard block.label == "SSH SIGNATURE" else {
            throw SSHKeyError(.invalidPEM, "expected an SSH SIGNATURE block, got \(SSHKeyError.quoted(block.label))")
        }
        try self.init(wireBlob: block.der)
    }

    /// The binary blob.
    public var wireBlob: [UInt8] {
        var writer = SSHWireWriter()
        writer.writeRaw(Self.magic)
        writer.writeUInt32(Self.version)
        writer.writeString(self.signer.wireBlob)
        writer.writeString(self.namespace)
        writer.writeString([UInt8]())
        writer.writeString(self.hashAlgorithm.name)
        writer.writeString(self.signature.wireBlob)
        return writer.bytes
    }

    /// The armored form, with 70-column lines as ssh-keygen writes it.
    public var armored: String { PEMBlock(label: "SSH SIGNATURE", der: self.wireBlob).armored(width: 70) }

    /// Checks the signature over `message` in `namespace` cryptographically, like
    /// `ssh-keygen -Y check-novalidate`: it proves only that the embedded key signed; who may
    /// sign is the caller's (or ``AllowedSigners``') business. A certificate signer's CA
    /// signature is checked too.
    public func verify(_ message: some DataProtocol, namespace expected: String, policy: SSHVerificationPolicy = .standard) throws {
        try self.verify(SSHSigSignedData(message: message, namespace: expected, hashAlgorithm: self.hashAlgorithm), policy: policy)
    }

    /// Like ``verify(_:namespace:policy:)`` with the message already hashed (with this
    /// signature's ``hashAlgorithm``).
    public func verify(_ data: SSHSigSignedData, policy: SSHVerificationPolicy = .standard) throws {
        let expected = data.namespace
        guard data.hashAlgorithm == self.hashAlgorithm else {
            throw SSHKeyError(.invalidSignature, "the message was hashed with \(data.hashAlgorithm.name), the signature uses \(self.hashAlgorithm.name)")
        }
        guard self.namespace == expected else {
            throw SSHKeyError(.namespaceMismatch, "the signature is for namespace \(SSHKeyError.quoted(self.namespace)), not \(SSHKeyError.quoted(expected))")
        }
        guard self.signature.algorithm != .insecureRSASHA1 else {
            throw SSHKeyError(.algorithmNotAllowed, "SSHSIG refuses ssh-rsa (SHA-1) signatures")
        }
        if case .certificate(let certificate) = self.signer {
            try certificate.verifyCASignature()
        }
        try self.signer.publicKey.verify(self.signature, for: data.bytes, policy: policy)
    }
}
