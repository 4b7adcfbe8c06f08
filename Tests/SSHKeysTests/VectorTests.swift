import Foundation
import SSHKeys
import Testing
import TestSupport

@Suite("Published vectors")
struct VectorTests {
    static let sshsigNames = ["rsa", "ecdsa", "ed25519", "ed25519_sk", "ecdsa_sk"]

    @Test("type and algorithm names are OpenSSH's, each looked up to itself")
    func names() {
        #expect(SSHKeyType.all.map(\.name) == [
            "ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-rsa",
            "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com",
        ])
        #expect(SSHKeyType.all.map(\.certificateName) == [
            "ssh-ed25519-cert-v01@openssh.com", "ecdsa-sha2-nistp256-cert-v01@openssh.com", "ecdsa-sha2-nistp384-cert-v01@openssh.com",
            "ecdsa-sha2-nistp521-cert-v01@openssh.com", "ssh-rsa-cert-v01@openssh.com", "sk-ssh-ed25519-cert-v01@openssh.com",
            "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com",
        ])
        for type in SSHKeyType.all {
            #expect(SSHKeyType(name: type.name) == type)
            #expect(Set(SSHKeyType.all.filter { $0 == type }.map(\.name)) == [type.name])
        }
        #expect(SSHSignatureAlgorithm.all.map(\.name) == [
            "ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "rsa-sha2-256", "rsa-sha2-512", "ssh-rsa",
            "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com",
        ])
        #expect(SSHSignatureAlgorithm.all.map(\.keyType) == [.ed25519, .ecdsaP256, .ecdsaP384, .ecdsaP521, .rsa, .rsa, .rsa, .securityKeyEd25519, .securityKeyECDSAP256])
        for algorithm in SSHSignatureAlgorithm.all { #expect(SSHSignatureAlgorithm(name: algorithm.name) == algorithm) }
        #expect(SSHKeyType(name: "ssh-dss") == nil && SSHSignatureAlgorithm(name: "ssh-rsa ") == nil)
    }

    @Test("OpenSSH's SSHSIG test data verifies", arguments: sshsigNames)
    func opensshSSHSig(_ name: String) throws {
        let namespace = try Vectors.text("openssh-sshsig/namespace")
        let message = try Vectors.bytes("openssh-sshsig/signed-data")
        let signature = try SSHSig(armored: Vectors.text("openssh-sshsig/\(name).sig"))
        let key = try SSHPublicKey(openSSHLine: Vectors.text("openssh-sshsig/\(name).pub"))
        #expect(signature.signer.publicKey == key)
        try signature.verify(message, namespace: namespace)
        #expect(throws: SSHKeyError(.invalidSignature, "")) { try signature.verify(message + [0x0A], namespace: namespace) }
        #expect(throws: SSHKeyError(.namespaceMismatch, "")) { try signature.verify(message, namespace: "file") }
        // Re-serialising gives back the exact blob.
        #expect(try SSHSig(wireBlob: signature.wireBlob) == signature)
    }

    @Test("OpenSSH's unencrypted test private keys load and match their .pub", arguments: ["rsa", "ecdsa", "ed25519", "ed25519_sk", "ecdsa_sk"])
    func opensshPrivateKeys(_ name: String) throws {
        let key = try SSHPrivateKey(fileContents: Vectors.text("openssh-sshsig/\(name)"))
        #expect(key.publicKey == (try SSHPublicKey(openSSHLine: Vectors.text("openssh-sshsig/\(name).pub"))))
        #expect(key.canSign == !name.hasSuffix("_sk"))
    }

    @Test("webauthn and ML-DSA signatures are refused as unsupported, not crashed on", arguments: ["ecdsa_sk_webauthn", "mldsa44-ed25519"])
    func unsupported(_ name: String) throws {
        let error = #expect(throws: SSHKeyError.self) { try SSHSig(armored: Vectors.text("openssh-sshsig/\(name).sig")) }
        #expect(error?.code == .unsupportedAlgorithm)
        if name.hasPrefix("mldsa") {
            let pubError = #expect(throws: SSHKeyError.self) { try SSHPublicKey(openSSHLine: Vectors.text("openssh-sshsig/\(name).pub")) }
            #expect(pubError?.code == .unsupportedAlgorithm)
        } else {
            // The webauthn signer is an ordinary sk-ecdsa key; only its signature format is unsupported.
            #expect(try SSHPublicKey(openSSHLine: Vectors.text("openssh-sshsig/\(name).pub")).type == .securityKeyECDSAP256)
        }
    }

    @Test("RFC 8037 key: SSHSIG sha256/sha512 reproduce byte for byte", arguments: [SSHSigHashAlgorithm.sha256, .sha512])
    func rfc8037SSHSig(_ hash: SSHSigHashAlgorithm) async throws {
        let key = try SSHPrivateKey(fileContents: Vectors.text("sshsig-rfc8037/key"))
        let message = try Vectors.bytes("sshsig-rfc8037/msg")
        let expected = try Vectors.text("sshsig-rfc8037/msg.\(hash.name).sig")
        let ours = try await SSHSig.sign(message, namespace: "api@example.com", hashAlgorithm: hash, with: key)
        #expect(ours.armored == expected)
        try SSHSig(armored: expected).verify(message, namespace: "api@example.com")
    }

    @Test("RFC 8037 key: SSH fingerprints, RFC 7638 thumbprint, asymmetric_jwt_auth kid")
    func rfc8037Fingerprints() throws {
        let key = try SSHPublicKey(openSSHLine: Vectors.text("sshsig-rfc8037/key.pub"))
        #expect(key.sha256Fingerprint == "SHA256:bbXpuKG6zhzdmnxq256TlqzFBzRl2f6OOg722cYNbU8")
        #expect(key.md5Fingerprint == "MD5:cf:07:be:9d:68:ae:65:54:6d:a0:93:c3:6f:bd:0d:82")
        #expect(try key.jwkThumbprint == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k")
        #expect(try key.jwkJSON == #"{"crv":"Ed25519","kty":"OKP","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#)
        #expect(try key.spkiPEM == Vectors.text("asymmetric_jwt_auth/ed25519_rfc8037_key.pub.pem"))
        // The kid in the header of a token made by asymmetric_jwt_auth 1.3.0 itself.
        let token = try Vectors.text("asymmetric_jwt_auth/ed25519_alice_1700000000.txt")
        let header = String(token.dropFirst("JWT ".count).split(separator: ".")[0])
        let json = try JSONSerialization.jsonObject(with: Data(base64URL: header)) as? [String: Any]
        #expect(key.asymmetricJWTKeyID == json?["kid"] as? String)
    }

    struct CRTAuthFingerprint: Decodable, Sendable, CustomTestStringConvertible {
        var name: String
        var line: String
        var fingerprint: String
        var testDescription: String { name }
    }

    static let crtauthKeys = (try? JSONDecoder().decode([CRTAuthFingerprint].self, from: Data(contentsOf: Vectors.url("crtauth/fingerprints.json")))) ?? []

    @Test("crtauth 6-byte fingerprints", arguments: crtauthKeys)
    func crtauth(_ vector: CRTAuthFingerprint) throws {
        #expect(hex(try SSHPublicKey(openSSHLine: vector.line).crtauthFingerprint) == vector.fingerprint)
    }

    @Test("the crtauth test key pair matches")
    func crtauthKeyPair() throws {
        let key = try SSHPrivateKey(fileContents: Vectors.text("crtauth/test_key.pem"))
        #expect(key.publicKey == (try SSHPublicKey(openSSHLine: Vectors.text("crtauth/test_key.pub"))))
        #expect(hex(key.publicKey.crtauthFingerprint) == "db65a2d4f910")
        #expect(Self.crtauthKeys.count == 3)
    }

    @Test("RSA JWK thumbprint matches RFC 7638 §3.1")
    func rfc7638() throws {
        // The RSA key of RFC 7638 §3.1 and its published thumbprint.
        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
        let key = try SSHPublicKey(rsaModulus: Data(base64URL: n), exponent: [1, 0, 1] as [UInt8])
        #expect(try key.jwkThumbprint == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")
    }
}

extension Data {
    init(base64URL text: String) {
        var s = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while s.count % 4 != 0 { s += "=" }
        self = Data(base64Encoded: s) ?? Data()
    }
}
