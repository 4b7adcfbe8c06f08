import Crypto
import SSHKeys

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
enum CRTAuthV2Verifier {
    /// Returns the key that authenticated (the certified key for a certificate), or nil.
    static func verify(response: CRTAuthResponse, challenge: CRTAuthChallenge, keys: [UserKey], now: UInt64) throws -> SSHPublicKey? {
        let signature: SSHSig
        do {
            signature = try SSHSig(wireBlob: response.signature)
        } catch let error as SSHKeyError {
            throw CRTAuthError(.malformed, "the v2 response signature is not an SSH signature: \(error.message)")
        }
        let namespace = CRTAuthV2.namespace(serverName: challenge.serverName)
        guard signature.namespace == namespace, signature.hashAlgorithm == CRTAuthV2.hashAlgorithm else { return nil }
        switch signature.signer {
        case .key(let key):
            guard keys.contains(where: { !$0.isCertificateAuthority && $0.key == key }) else { return nil }
        case .certificate(let certificate):
            guard certificate.kind == .user, certificate.isValid(at: now),
                  keys.contains(where: { ca in
                      ca.isCertificateAuthority && ca.key == certificate.signatureKey
                          && certificate.principals.contains { (ca.principals ?? [challenge.username]).contains($0) }
                  }) else { return nil }
        }
        // SSHSig.verify checks the CA signature of a certificate signer too.
        guard (try? signature.verify(challenge.bytes, namespace: namespace)) != nil else { return nil }
        return signature.signer.publicKey
    }
}
