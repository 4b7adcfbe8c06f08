import Crypto
import _CryptoExtras
import Foundation

/// Signature algorithms over bare signatures, as JOSE (RFC 7518, RFC 8037) and HTTP Message
/// Signatures (RFC 9421) carry them: no SSH framing, ECDSA as fixed-width `r ‖ s`, RSA
/// signatures as wide as the modulus.
public enum RawSignatureAlgorithm: Hashable, Sendable, CaseIterable {
    case ed25519
    case ecdsaP256SHA256
    case ecdsaP384SHA384
    case rsaPKCS1SHA256
    case rsaPKCS1SHA384
    case rsaPKCS1SHA512
    case rsaPSSSHA512

    /// The key type this algorithm needs.
    public var keyType: SSHKeyType {
        switch self {
        case .ed25519: .ed25519
        case .ecdsaP256SHA256: .ecdsaP256
        case .ecdsaP384SHA384: .ecdsaP384
        case .rsaPKCS1SHA256, .rsaPKCS1SHA384, .rsaPKCS1SHA512, .rsaPSSSHA512: .rsa
        }
    }

    /// The SSH signature algorithm that produces the same bare signature, for signing through
    /// ssh-agent; `nil` when SSH has none (RSA with SHA-384, RSA-PSS).
    public var sshAlgorithm: SSHSignatureAlgorithm? {
        switch self {
        case .ed25519: .ed25519
        case .ecdsaP256SHA256: .ecdsaP256
        case .ecdsaP384SHA384: .ecdsaP384
        case .rsaPKCS1SHA256: .rsaSHA256
        case .rsaPKCS1SHA512: .rsaSHA512
        case .rsaPKCS1SHA384, .rsaPSSSHA512: nil
        }
    }
}

extension SSHPublicKey {
    /// Whether `signature` is a valid bare `algorithm` signature of `data` by this key. False,
    /// never a trap, for a signature of the wrong size or an algorithm that does not fit the key.
    public func isValidRawSignature(_ signature: some Collection<UInt8>, for data: some DataProtocol, algorithm: RawSignatureAlgorithm) -> Bool {
        if let result = data.withContiguousStorageIfAvailable({ self.isValidRawSignature(Array(signature), bytes: UnsafeRawBufferPointer($0), algorithm: algorithm) }) {
            return result
        }
        return Array(data).withUnsafeBytes { self.isValidRawSignature(Array(signature), bytes: $0, algorithm: algorithm) }
    }

    private func isValidRawSignature(_ signature: [UInt8], bytes data: UnsafeRawBufferPointer, algorithm: RawSignatureAlgorithm) -> Bool {
        switch (self.backing, algorithm) {
        case (.ed25519(let key), .ed25519):
            return signature.count == 64 && key.isValidSignature(signature, for: data)
        case (.p256(let key), .ecdsaP256SHA256):
            guard signature.count == 64, let parsed = try? P256.Signing.ECDSASignature(rawRepresentation: signature) else { return false }
            return key.isValidSignature(parsed, for: SHA256.hash(data: data))
        case (.p384(let key), .ecdsaP384SHA384):
            guard signature.count == 96, let parsed = try? P384.Signing.ECDSASignature(rawRepresentation: signature) else { return false }
            return key.isValidSignature(parsed, for: SHA384.hash(data: data))
        case (.rsa(let rsa), _):
            // JWS and RFC 9421 require the full modulus width (RFC 8017 §8.2.2 step 1).
            guard signature.count == (rsa.bitCount + 7) / 8 else { return false }
            let parsed = _RSA.Signing.RSASignature(rawRepresentation: signature)
            switch algorithm {
            case .rsaPKCS1SHA256: return rsa.key.isValidSignature(parsed, for: SHA256.hash(data: data), padding: .insecurePKCS1v1_5)
            case .rsaPKCS1SHA384: return rsa.key.isValidSignature(parsed, for: SHA384.hash(data: data), padding: .insecurePKCS1v1_5)
            case .rsaPKCS1SHA512: return rsa.key.isValidSignature(parsed, for: SHA512.hash(data: data), padding: .insecurePKCS1v1_5)
            case .rsaPSSSHA512: return rsa.key.isValidSignature(parsed, for: SHA512.hash(data: data), padding: .PSS)
            case .ed25519, .ecdsaP256SHA256, .ecdsaP384SHA384: return false
            }
        default:
            return false
        }
    }
}

extension SSHPrivateKey {
    /// A bare `algorithm` signature of `data` (RSA-PSS and RSA with SHA-384 too, which SSH lacks).
    public func rawSignature(for data: [UInt8], algorithm: RawSignatureAlgorithm) throws -> [UInt8] {
        guard algorithm.keyType == self.publicKey.type else {
            throw SSHKeyError(.keyTypeMismatch, "a \(self.publicKey.type.name) key cannot make \(algorithm) signatures")
        }
        if let sshAlgorithm = algorithm.sshAlgorithm {
            return try self.signature(for: data, algorithm: sshAlgorithm).rawSignature
        }
        guard case .rsa(let rsa) = self.backing else {
            throw SSHKeyError(.signingUnavailable, "this key cannot make \(algorithm) signatures in process")
        }
        return try wrap(.invalidKey, "RSA signing failed") {
            switch algorithm {
            case .rsaPSSSHA512: Array(try rsa.key.signature(for: SHA512.hash(data: data), padding: .PSS).rawRepresentation)
            default: Array(try rsa.key.signature(for: SHA384.hash(data: data), padding: .insecurePKCS1v1_5).rawRepresentation)
            }
        }
    }
}

extension Signer {
    /// A bare `algorithm` signature of `data`, made through the SSH signature this signer can
    /// produce (in process or in ssh-agent). RSA-PSS and RSA with SHA-384 need an in-process key.
    public func signRaw(_ data: [UInt8], algorithm: RawSignatureAlgorithm) async throws -> [UInt8] {
        guard algorithm.keyType == self.publicKey.type else {
            throw SSHKeyError(.keyTypeMismatch, "a \(self.publicKey.type.name) key cannot make \(algorithm) signatures")
        }
        if let key = self as? SSHPrivateKey { return try key.rawSignature(for: data, algorithm: algorithm) }
        guard let sshAlgorithm = algorithm.sshAlgorithm else {
            throw SSHKeyError(.signingUnavailable, "ssh-agent cannot make \(algorithm) signatures; use a key file")
        }
        let signature = try await self.sign(data, algorithm: sshAlgorithm)
        guard signature.algorithm == sshAlgorithm else {
            throw SSHKeyError(.algorithmNotAllowed, "asked for \(sshAlgorithm.name) but the signer made \(signature.algorithm.name)")
        }
        return signature.rawSignature
    }
}
