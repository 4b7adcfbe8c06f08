import Crypto
import Foundation
import SSHKeys
import _CryptoExtras

// Each case pairs our verify with the swift-crypto primitive called directly on the same key,
// message and signature (parsed outside the loop, as a server does once per request), so the
// ratio between them is the cost of our layer.

public let message = [UInt8](repeating: 0x5A, count: 64)

public struct Case: @unchecked Sendable {
    // @unchecked: immutable after setup; the crypto key types inside are thread-safe values.
    public let name: String
    public let privateKey: SSHPrivateKey
    public let algorithm: SSHSignatureAlgorithm
    public let signature: SSHSignature
    public let raw: () -> Bool

    /// Our verify of the parsed signature, through the public API.
    public func ours() -> Bool {
        let policy: SSHVerificationPolicy = self.algorithm == .insecureRSASHA1 ? .insecureLegacySHA1 : .standard
        return self.privateKey.publicKey.isValidSignature(self.signature, for: message, policy: policy)
    }
}

public func makeCases() throws -> [Case] {
    var cases: [Case] = []

    let ed = Curve25519.Signing.PrivateKey()
    let edKey = SSHPrivateKey(ed)
    let edSig = try edKey.signature(for: message)
    let edRaw = edSig.rawSignature
    cases.append(Case(name: "ssh-ed25519", privateKey: edKey, algorithm: .ed25519, signature: edSig) {
        ed.publicKey.isValidSignature(edRaw, for: message)
    })

    let p256 = P256.Signing.PrivateKey()
    let p256Key = SSHPrivateKey(p256)
    let p256Sig = try p256Key.signature(for: message)
    let p256Raw = try P256.Signing.ECDSASignature(rawRepresentation: p256Sig.rawSignature)
    cases.append(Case(name: "ecdsa-sha2-nistp256", privateKey: p256Key, algorithm: .ecdsaP256, signature: p256Sig) {
        p256.publicKey.isValidSignature(p256Raw, for: SHA256.hash(data: message))
    })

    let p384 = P384.Signing.PrivateKey()
    let p384Key = SSHPrivateKey(p384)
    let p384Sig = try p384Key.signature(for: message)
    let p384Raw = try P384.Signing.ECDSASignature(rawRepresentation: p384Sig.rawSignature)
    cases.append(Case(name: "ecdsa-sha2-nistp384", privateKey: p384Key, algorithm: .ecdsaP384, signature: p384Sig) {
        p384.publicKey.isValidSignature(p384Raw, for: SHA384.hash(data: message))
    })

    let p521 = P521.Signing.PrivateKey()
    let p521Key = SSHPrivateKey(p521)
    let p521Sig = try p521Key.signature(for: message)
    let p521Raw = try P521.Signing.ECDSASignature(rawRepresentation: p521Sig.rawSignature)
    cases.append(Case(name: "ecdsa-sha2-nistp521", privateKey: p521Key, algorithm: .ecdsaP521, signature: p521Sig) {
        p521.publicKey.isValidSignature(p521Raw, for: SHA512.hash(data: message))
    })

    let rsa = try _RSA.Signing.PrivateKey(keySize: .bits2048)
    let rsaKey = try SSHPrivateKey(rsa)
    let rsaPublic = rsa.publicKey
    for (algorithm, hash) in [(SSHSignatureAlgorithm.rsaSHA256, 256), (.rsaSHA512, 512), (.insecureRSASHA1, 1)] {
        let sig = try rsaKey.signature(for: message, algorithm: algorithm)
        let raw = _RSA.Signing.RSASignature(rawRepresentation: sig.rawSignature)
        cases.append(Case(name: algorithm.name + " 2048", privateKey: rsaKey, algorithm: algorithm, signature: sig) {
            switch hash {
            case 256: rsaPublic.isValidSignature(raw, for: SHA256.hash(data: message), padding: .insecurePKCS1v1_5)
            case 512: rsaPublic.isValidSignature(raw, for: SHA512.hash(data: message), padding: .insecurePKCS1v1_5)
            default: rsaPublic.isValidSignature(raw, for: Insecure.SHA1.hash(data: message), padding: .insecurePKCS1v1_5)
            }
        })
    }
    return cases
}

