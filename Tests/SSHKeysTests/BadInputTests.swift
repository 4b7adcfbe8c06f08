import Foundation
@testable import SSHKeys
import Testing
import TestSupport

/// Every parser of untrusted input: drip-feed (every prefix), trailing bytes, lies about types,
/// fields at limit + 1, random mutations. Each must end in a typed SSHKeyError, never a trap.
@Suite("Bad input")
struct BadInputTests {
    static let keys: [SSHPrivateKey] = [SSHKeyType.ed25519, .ecdsaP256, .ecdsaP384, .ecdsaP521, .rsa].compactMap {
        try? SSHPrivateKey(generating: $0, rsaBits: 2048, comment: "bad-input")
    }

    static func expectTypedError(_ body: () throws -> Any, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try body()
            Issue.record("expected an error", sourceLocation: sourceLocation)
        } catch is SSHKeyError {
        } catch {
            Issue.record("untyped error \(error)", sourceLocation: sourceLocation)
        }
    }

    /// A deterministic generator, so a failure reproduces.
    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static func mutations(of input: [UInt8], count: Int, seed: UInt64) -> [[UInt8]] {
        var rng = SplitMix(state: seed)
        return (0..<count).map { _ in
            var bytes = input
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                switch Int.random(in: 0..<3, using: &rng) {
                case 0: bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                case 1: bytes[Int.random(in: 0..<bytes.count, using: &rng)] ^= 0x80
                default: bytes.insert(UInt8.random(in: 0...255, using: &rng), at: Int.random(in: 0...bytes.count, using: &rng))
                }
            }
            return bytes
        }
    }

    @Test("public key blobs: every prefix, trailing bytes, mutations")
    func publicKeyBlobs() throws {
        for key in Self.keys {
            let blob = key.publicKey.wireBlob
            for length in 0..<blob.count { Self.expectTypedError { try SSHPublicKey(wireBlob: blob.prefix(length)) } }
            #expect(throws: SSHKeyError(.trailingBytes, "")) { try SSHPublicKey(wireBlob: blob + [0]) }
            for mutated in Self.mutations(of: blob, count: 300, seed: UInt64(blob.count)) {
                _ = try? SSHPublicKey(wireBlob: mutated)
            }
        }
    }

    @Test("a type label that lies about the key inside")
    func lies() throws {
        let ed = Self.keys[0].publicKey, p256 = Self.keys[1].publicKey
        let line = "ssh-rsa " + Data(ed.wireBlob).base64EncodedString()
        #expect(throws: SSHKeyError(.keyTypeMismatch, "")) { try SSHPublicKey(openSSHLine: line) }
        // ecdsa-sha2-nistp384 header over a nistp256 curve name.
        var writer = SSHWireWriter()
        writer.writeString("ecdsa-sha2-nistp384")
        var reader = SSHWireReader(p256.wireBlob, what: "t")
        _ = try reader.readString()
        writer.writeRaw(reader.remaining)
        #expect(throws: SSHKeyError(.keyTypeMismatch, "")) { try SSHPublicKey(wireBlob: writer.bytes) }
        // A signature algorithm that does not fit the key.
        let signature = try Self.keys[0].signature(for: [1])
        let relabelled = SSHSignature(algorithm: .ecdsaP256, rawSignature: [UInt8](repeating: 1, count: 64))
        #expect(throws: SSHKeyError(.keyTypeMismatch, "")) { try p256.verify(SSHSignature(algorithm: .ed25519, rawSignature: signature.rawSignature), for: [1]) }
        #expect(throws: SSHKeyError(.keyTypeMismatch, "")) { try ed.verify(relabelled, for: [1]) }
        // A certificate presented where a plain key is expected.
        #expect(throws: SSHKeyError(.unsupportedAlgorithm, "")) { try SSHPublicKey(wireBlob: Self.certificateBlob()) }
    }

    @Test("RSA size limits: 1024 is weak, above 16384 is over the limit, even exponents are invalid")
    func rsaLimits() throws {
        func blob(modulusBytes: Int, exponent: [UInt8] = [1, 0, 1]) -> [UInt8] {
            var writer = SSHWireWriter()
            writer.writeString("ssh-rsa")
            writer.writePositiveMPInt(exponent)
            writer.writePositiveMPInt([0xC1] + [UInt8](repeating: 0x5B, count: modulusBytes - 2) + [0x01])
            return writer.bytes
        }
        let weak = #expect(throws: SSHKeyError.self) { try SSHPublicKey(wireBlob: blob(modulusBytes: 128)) }
        #expect(weak?.code == .weakKey)
        #expect(weak?.message.contains("2048") == true)
        #expect(throws: SSHKeyError(.limitExceeded, "")) { try SSHPublicKey(wireBlob: blob(modulusBytes: 2049)) }
        #expect(throws: SSHKeyError(.invalidKey, "")) { try SSHPublicKey(wireBlob: blob(modulusBytes: 256, exponent: [2])) }
        #expect(throws: SSHKeyError(.limitExceeded, "")) { try SSHPublicKey(wireBlob: blob(modulusBytes: 256, exponent: [UInt8](repeating: 1, count: 10))) }
        #expect(throws: SSHKeyError(.weakKey, "")) { try SSHPrivateKey(generating: .rsa, rsaBits: 1024) }
    }

    @Test("wire fields at limit + 1")
    func wireLimits() throws {
        var writer = SSHWireWriter()
        writer.writeUInt32(UInt32(SSHWireLimits.maxStringLength + 1))
        var reader = SSHWireReader(writer.bytes, what: "t")
        #expect(throws: SSHKeyError(.limitExceeded, "")) { try reader.readString() }
        var huge = SSHWireWriter()
        huge.writeUInt32(UInt32.max)
        var hugeReader = SSHWireReader(huge.bytes, what: "t")
        #expect(throws: SSHKeyError(.limitExceeded, "")) { try hugeReader.readString() }
        // Negative and non-minimal mpints.
        var negative = SSHWireReader([0, 0, 0, 1, 0x80], what: "t")
        #expect(throws: SSHKeyError(.invalidEncoding, "")) { try negative.readPositiveMPInt() }
        var padded = SSHWireReader([0, 0, 0, 2, 0, 0x01], what: "t")
        #expect(throws: SSHKeyError(.invalidEncoding, "")) { try padded.readPositiveMPInt() }
        // A name-list with limit + 1 entries.
        var names = SSHWireWriter()
        names.writeNameList((0...SSHWireLimits.maxListEntries).map { "n\($0)" })
        var nameReader = SSHWireReader(names.bytes, what: "t")
        #expect(throws: SSHKeyError(.limitExceeded, "")) { try nameReader.readNameList() }
        // An OpenSSH line over its limit.
        #expect(throws: SSHKeyError(.limitExceeded, "")) { try SSHPublicKey(openSSHLine: "ssh-ed25519 " + String(repeating: "A", count: SSHPublicKey.maximumLineLength)) }
    }

    @Test("signature blobs: every prefix, trailing bytes, bad ECDSA integers, mutations")
    func signatureBlobs() throws {
        for key in Self.keys {
            let blob = try key.signature(for: [9, 9]).wireBlob
            for length in 0..<blob.count { Self.expectTypedError { try SSHSignature(wireBlob: blob.prefix(length)) } }
            #expect(throws: SSHKeyError(.trailingBytes, "")) { try SSHSignature(wireBlob: blob + [0]) }
            for mutated in Self.mutations(of: blob, count: 200, seed: 7) {
                if let signature = try? SSHSignature(wireBlob: mutated) { _ = key.publicKey.isValidSignature(signature, for: [9, 9]) }
            }
        }
        // r wider than the curve.
        var inner = SSHWireWriter()
        inner.writePositiveMPInt([UInt8](repeating: 0x7F, count: 33))
        inner.writePositiveMPInt([1])
        var outer = SSHWireWriter()
        outer.writeString("ecdsa-sha2-nistp256")
        outer.writeString(inner.bytes)
        Self.expectTypedError { try SSHSignature(wireBlob: outer.bytes) }
        var unknown = SSHWireWriter()
        unknown.writeString("ssh-dss")
        unknown.writeString([UInt8](repeating: 0, count: 40))
        #expect(throws: SSHKeyError(.unsupportedAlgorithm, "")) { try SSHSignature(wireBlob: unknown.bytes) }
    }

    @Test("RSA signatures: short ones are left-padded, SHA-1 needs the legacy policy")
    func rsaSignatures() throws {
        let key = Self.keys[4]
        var found: (data: [UInt8], signature: SSHSignature)?
        // Find a signature with a leading zero byte (about 1 in 256) and strip it.
        for i in 0..<4096 {
            let data = Array("pad \(i)".utf8)
            let signature = try key.signature(for: data, algorithm: .rsaSHA256)
            if signature.rawSignature.first == 0 { found = (data, signature); break }
        }
        let (data, signature) = try #require(found)
        let short = SSHSignature(algorithm: .rsaSHA256, rawSignature: Array(signature.rawSignature.drop { $0 == 0 }))
        try key.publicKey.verify(short, for: data)
        let tooLong = SSHSignature(algorithm: .rsaSHA256, rawSignature: [1] + signature.rawSignature)
        #expect(throws: SSHKeyError(.invalidSignature, "")) { try key.publicKey.verify(tooLong, for: data) }

        let legacy = try key.signature(for: data, algorithm: .insecureRSASHA1)
        #expect(throws: SSHKeyError(.algorithmNotAllowed, "")) { try key.publicKey.verify(legacy, for: data) }
        try key.publicKey.verify(legacy, for: data, policy: .insecureLegacySHA1)
    }

    @Test("security-key signatures need user presence unless the policy relaxes it")
    func userPresence() throws {
        let namespace = try Vectors.text("openssh-sshsig/namespace")
        let message = try Vectors.bytes("openssh-sshsig/signed-data")
        for name in ["ed25519_sk", "ecdsa_sk"] {
            let sig = try SSHSig(armored: Vectors.text("openssh-sshsig/\(name).sig"))
            #expect(sig.signature.securityKeyCounter == 0x1234_5678)
            let flags = try #require(sig.signature.securityKeyFlags)
            // Clearing the presence flag breaks the signature (it is signed), so check the
            // policy on the flag byte the authenticator reported.
            #expect(flags & SSHSignature.userPresentFlag != 0)
            let noUV = SSHVerificationPolicy(requiresUserVerification: true)
            if flags & SSHSignature.userVerifiedFlag == 0 {
                #expect(throws: SSHKeyError(.userPresenceRequired, "")) { try sig.verify(message, namespace: namespace, policy: noUV) }
            }
            let stripped = SSHSignature(algorithm: sig.signature.algorithm, rawSignature: sig.signature.rawSignature, securityKeyFlags: flags & ~SSHSignature.userPresentFlag, securityKeyCounter: sig.signature.securityKeyCounter)
            #expect(throws: SSHKeyError(.invalidSignature, "")) { try sig.signer.publicKey.verify(stripped, for: SSHSigSignedData(message: message, namespace: namespace, hashAlgorithm: sig.hashAlgorithm).bytes) }
        }
    }

    static func certificateBlob(principals: [String] = ["alice"]) throws -> [UInt8] {
        try makeCertificateBlob(for: SSHPrivateKey(generating: .ed25519).publicKey, ca: Self.keys[0], principals: principals)
    }

    @Test("certificates: every prefix, trailing bytes, principals at limit + 1, mutations")
    func certificates() throws {
        let blob = try Self.certificateBlob()
        let cert = try SSHCertificate(wireBlob: blob)
        try cert.verifyCASignature()
        for length in 0..<blob.count { Self.expectTypedError { try SSHCertificate(wireBlob: blob.prefix(length)) } }
        #expect(throws: SSHKeyError(.trailingBytes, "")) { try SSHCertificate(wireBlob: blob + [0]) }
        for mutated in Self.mutations(of: blob, count: 300, seed: 3) {
            if let c = try? SSHCertificate(wireBlob: mutated) { _ = try? c.verifyCASignature() }
        }
        let many = try Self.certificateBlob(principals: (0...SSHCertificate.maximumPrincipals).map { "p\($0)" })
        #expect(throws: SSHKeyError(.limitExceeded, "")) { try SSHCertificate(wireBlob: many) }
    }

    @Test("SSHSIG blobs and armor: every prefix, trailing bytes, wrong magic/version/hash, mutations")
    func sshsig() async throws {
        let signature = try await SSHSig.sign([1, 2, 3], namespace: "file", with: Self.keys[1])
        let blob = signature.wireBlob
        for length in 0..<blob.count { Self.expectTypedError { try SSHSig(wireBlob: blob.prefix(length)) } }
        #expect(throws: SSHKeyError(.trailingBytes, "")) { try SSHSig(wireBlob: blob + [0]) }
        var wrongVersion = blob
        wrongVersion[9] = 2
        #expect(throws: SSHKeyError(.unsupportedAlgorithm, "")) { try SSHSig(wireBlob: wrongVersion) }
        var wrongMagic = blob
        wrongMagic[0] = UInt8(ascii: "X")
        #expect(throws: SSHKeyError(.invalidEncoding, "")) { try SSHSig(wireBlob: wrongMagic) }
        let sha999 = SSHSig(signer: signature.signer, namespace: "file", hashAlgorithm: .sha512, signature: signature.signature).wireBlob
        if let at = sha999.firstRange(of: Array("sha512".utf8)) {
            var patched = sha999
            patched.replaceSubrange(at, with: Array("sha999".utf8))
            #expect(throws: SSHKeyError(.unsupportedAlgorithm, "")) { try SSHSig(wireBlob: patched) }
        }
        for mutated in Self.mutations(of: blob, count: 300, seed: 11) {
            if let s = try? SSHSig(wireBlob: mutated) { _ = try? s.verify([1, 2, 3], namespace: "file") }
        }
        #expect(throws: SSHKeyError(.invalidPEM, "")) { try SSHSig(armored: "-----BEGIN SSH SIGNATURE-----\nAAAA\n") }
        #expect(throws: SSHKeyError(.limitExceeded, "")) { try SSHSig(armored: String(repeating: "A", count: SSHSig.maximumArmoredLength + 1)) }
    }

    @Test("openssh-key-v1 files: every prefix, trailing bytes, two keys, bad padding, mutations; no secret in messages")
    func privateKeyFiles() throws {
        let key = Self.keys[0]
        let block = try PEMBlock(parsing: key.openSSHFile())
        let binary = block.der
        for length in stride(from: 0, to: binary.count, by: 1) {
            Self.expectTypedError { try SSHPrivateKey(openSSHBinary: Array(binary.prefix(length)), passphrase: nil) }
        }
        #expect(throws: SSHKeyError(.trailingBytes, "")) { try SSHPrivateKey(openSSHBinary: binary + [0], passphrase: nil) }
        for mutated in Self.mutations(of: binary, count: 500, seed: 5) {
            _ = try? SSHPrivateKey(openSSHBinary: mutated, passphrase: nil)
        }
        let encrypted = try PEMBlock(parsing: key.openSSHFile(passphrase: "hunter2", rounds: 1)).der
        for mutated in Self.mutations(of: encrypted, count: 100, seed: 6) {
            do { _ = try SSHPrivateKey(openSSHBinary: mutated, passphrase: "hunter2") } catch let error as SSHKeyError {
                #expect(!error.message.contains("hunter2"))
            }
        }
        // The key count at limit + 1.
        var reader = SSHWireReader(binary.dropFirst(15), what: "t")
        for _ in 0..<3 { _ = try reader.readString() }
        let countOffset = binary.count - reader.remainingCount
        var twoKeys = binary
        twoKeys[countOffset + 3] = 2
        #expect(throws: SSHKeyError(.limitExceeded, "")) { try SSHPrivateKey(openSSHBinary: twoKeys, passphrase: nil) }
        // Bad padding: the last byte of the (unencrypted) private section.
        var badPadding = binary
        badPadding[badPadding.count - 1] ^= 0xFF
        Self.expectTypedError { try SSHPrivateKey(openSSHBinary: badPadding, passphrase: nil) }
        // Rounds over the limit.
        let hugeRounds = try PEMBlock(parsing: key.openSSHFile(passphrase: "x", rounds: 1)).der
        var r = SSHWireReader(hugeRounds.dropFirst(15), what: "t")
        _ = try r.readString()
        _ = try r.readString()
        let optionsEnd = hugeRounds.count - r.remainingCount + 4 + 16 + 4 + 4
        var patched = hugeRounds
        patched[optionsEnd - 4] = 0x7F
        #expect(throws: SSHKeyError(.limitExceeded, "")) { try SSHPrivateKey(openSSHBinary: patched, passphrase: "x") }
    }

    @Test("PEM and key files that are not what they claim")
    func pem() throws {
        #expect(throws: SSHKeyError(.invalidPEM, "")) { try SSHPrivateKey(fileContents: "hello") }
        #expect(throws: SSHKeyError(.invalidPEM, "")) { try SSHPrivateKey(fileContents: "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n") }
        #expect(throws: SSHKeyError(.invalidEncoding, "")) { try SSHPrivateKey(fileContents: "-----BEGIN OPENSSH PRIVATE KEY-----\n!!!!\n-----END OPENSSH PRIVATE KEY-----\n") }
        #expect(throws: SSHKeyError(.unsupportedCipher, "")) { try SSHPrivateKey(fileContents: "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nAAAA\n-----END RSA PRIVATE KEY-----\n") }
        #expect(throws: SSHKeyError(.unsupportedCipher, "")) { try SSHPrivateKey(fileContents: "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n") }
        Self.expectTypedError { try SSHPrivateKey(fileContents: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n") }
        Self.expectTypedError { try SSHPrivateKey(fileContents: "-----BEGIN RSA PRIVATE KEY-----\nMAA=\n-----END RSA PRIVATE KEY-----\n") }
        Self.expectTypedError { try SSHPublicKey(spkiPEM: "-----BEGIN PUBLIC KEY-----\nMAA=\n-----END PUBLIC KEY-----\n") }
        do {
            _ = try SSHPublicKey(openSSHLine: "ssh-ed25519 c2VjcmV0LWtleS1tYXRlcmlhbA== x")
        } catch let error as SSHKeyError {
            #expect(!error.message.contains("c2VjcmV0"))
        }
    }
}
