import AuthCore
import Crypto
import SSHKeys

/// Constants of our crtauth v2 (see docs/PROTOCOL.md).
public enum CRTAuthV2 {
    /// v2 challenges carry 32 random bytes.
    public static let uniqueDataLength = 32
    /// Most key fingerprints one v2 challenge offers.
    public static let maximumOfferedKeys = 16
}

extension CRTAuthV2 {
    /// The SSHSIG namespace of a v2 signature for `serverName`: binds the signature to crtauth
    /// and to one server, so it is useless as an SSH login, a git signature or for another server.
    public static func namespace(serverName: String) -> String { "crtauth-v2@" + serverName.lowercased() }

    /// The message hash of v2 signatures.
    public static let hashAlgorithm = SSHSigHashAlgorithm.sha512

    /// The SHA-256 fingerprints a v2 challenge offers.
    static func offeredFingerprints(_ challenge: CRTAuthChallenge) -> [ArraySlice<UInt8>] {
        stride(from: 0, to: challenge.fingerprint.count, by: 32).map { challenge.fingerprint[$0..<($0 + 32)] }
    }
}

/// Server side of v2: which of the user's keys made the SSHSIG over the challenge.
///
/// Every path does exactly one signature verification of the signer's key type — against the
/// real key, or against a decoy when the key is not acceptable or the user is unknown — so that
/// timing does not tell an unknown user or an unregistered key from a wrong signature.
enum CRTAuthV2Verifier {
    /// Parses a response's SSHSIG; a malformed one is a 400, for known and unknown users alike.
    static func parse(_ signature: ArraySlice<UInt8>) throws -> SSHSig {
        do {
            return try SSHSig(wireBlob: signature)
        } catch let error as SSHKeyError {
            throw CRTAuthError(.malformed, "the v2 response signature is not an SSH signature: \(error.message)")
        }
    }

    /// Returns the key that authenticated (the certified key for a certificate) and the
    /// registered key that let it in (the CA for a certificate), or nil.
    static func verify(signature: ArraySlice<UInt8>, challenge: CRTAuthChallenge, keys: [UserKey], now: UInt64) throws -> (signer: SSHPublicKey, registered: SSHPublicKey)? {
        let signature = try self.parse(signature)
        let namespace = CRTAuthV2.namespace(serverName: challenge.serverName)
        let registered: UserKey?
        switch signature.signer {
        case .key(let key):
            registered = keys.first { !$0.isCertificateAuthority && $0.key == key }
        case .certificate(let certificate):
            registered = certificate.kind == .user && certificate.isValid(at: now)
                ? keys.first { ca in
                    ca.isCertificateAuthority && ca.key == certificate.signatureKey
                        && certificate.principals.contains { (ca.principals ?? [challenge.username]).contains($0) }
                }
                : nil
        }
        guard let registered, signature.namespace == namespace, signature.hashAlgorithm == CRTAuthV2.hashAlgorithm else {
            self.decoyVerify(signature, challenge: challenge)
            return nil
        }
        // SSHSig.verify checks the CA signature of a certificate signer too.
        guard (try? signature.verify(challenge.storage, namespace: namespace)) != nil else { return nil }
        return (signature.signer.publicKey, registered.key)
    }

    /// One verification of the same cost as a real one, whose result is thrown away.
    static func decoyVerify(_ signature: SSHSig, challenge: CRTAuthChallenge) {
        guard let decoy = Decoys.key(for: signature.signer.publicKey.type) else { return }
        let data = SSHSigSignedData(message: challenge.storage, namespace: signature.namespace, hashAlgorithm: signature.hashAlgorithm)
        _ = decoy.isValidSignature(signature.signature, for: data.bytes)
    }
}

/// Keys nobody holds, one per type, made on first use.
enum Decoys {
    static let ed25519 = try? SSHPrivateKey(generating: .ed25519).publicKey
    static let p256 = try? SSHPrivateKey(generating: .ecdsaP256).publicKey
    static let p384 = try? SSHPrivateKey(generating: .ecdsaP384).publicKey
    static let p521 = try? SSHPrivateKey(generating: .ecdsaP521).publicKey
    static let rsa = try? SSHPrivateKey(generating: .rsa, rsaBits: 2048).publicKey

    static func key(for type: SSHKeyType) -> SSHPublicKey? {
        switch type {
        case .ed25519: ed25519
        case .ecdsaP256: p256
        case .ecdsaP384: p384
        case .ecdsaP521: p521
        case .rsa: rsa
        default: nil  // FIDO keys: no software decoy; their verification is an ECDSA/Ed25519 one
        }
    }
}
