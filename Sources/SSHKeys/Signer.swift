/// Something that signs with an SSH key: an in-memory ``SSHPrivateKey`` or a key in ssh-agent.
public protocol Signer: Sendable {
    /// The identity embedded in signatures (a certificate when the signer presents one).
    var identity: SSHPublicIdentity { get }

    /// Signs `data`. `algorithm` chooses the RSA hash (`nil`: the signer's default, SHA-512).
    func sign(_ data: [UInt8], algorithm: SSHSignatureAlgorithm?) async throws -> SSHSignature
}

extension Signer {
    /// The plain public key.
    public var publicKey: SSHPublicKey { self.identity.publicKey }
}

extension SSHPrivateKey: Signer {
    public var identity: SSHPublicIdentity { .key(self.publicKey) }

    public func sign(_ data: [UInt8], algorithm: SSHSignatureAlgorithm?) async throws -> SSHSignature {
        try self.signature(for: data, algorithm: algorithm)
    }
}

/// A private key presented together with its certificate.
public struct CertifiedSigner: Signer {
    public let privateKey: SSHPrivateKey
    public let certificate: SSHCertificate

    /// Pairs a key with its certificate; they must match.
    public init(privateKey: SSHPrivateKey, certificate: SSHCertificate) throws {
        guard privateKey.publicKey == certificate.key else {
            throw SSHKeyError(.keyTypeMismatch, "the certificate is for another key")
        }
        self.privateKey = privateKey
        self.certificate = certificate
    }

    public var identity: SSHPublicIdentity { .certificate(self.certificate) }

    public func sign(_ data: [UInt8], algorithm: SSHSignatureAlgorithm?) async throws -> SSHSignature {
        try self.privateKey.signature(for: data, algorithm: algorithm)
    }
}
