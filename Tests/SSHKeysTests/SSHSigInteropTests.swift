import Foundation
import SSHKeys
import Testing
import TestSupport

@Suite("SSHSIG and certificates with ssh-keygen")
struct SSHSigInteropTests {
    static let message = Array("The quick brown fox\n".utf8)

    @Test("ours → ssh-keygen -Y verify, theirs → ours", arguments: sshKeygenTypes.map(\.type).uniqued(), [SSHSigHashAlgorithm.sha256, .sha512])
    func bothWays(_ type: String, hash: SSHSigHashAlgorithm) async throws {
        let dir = try TemporaryDirectory()
        let path = try sshKeygen(dir, name: "k", type: type)
        let key = try SSHPrivateKey(fileContents: dir.read("k"))
        let allowed = try dir.write("allowed", "alice@example.com namespaces=\"file,git\" " + key.publicKey.openSSHLine() + "\n")
        let msgPath = try dir.write("msg", String(decoding: Self.message, as: UTF8.self))

        // Ours, verified by ssh-keygen.
        let ours = try await SSHSig.sign(Self.message, namespace: "file", hashAlgorithm: hash, with: key)
        let sigPath = try dir.write("ours.sig", ours.armored)
        let verified = try runProcess("ssh-keygen", ["-Y", "verify", "-f", allowed, "-I", "alice@example.com", "-n", "file", "-s", sigPath], stdin: Self.message)
        #expect(verified.status == 0, "\(verified.stderr)")
        let wrongNamespace = try runProcess("ssh-keygen", ["-Y", "verify", "-f", allowed, "-I", "alice@example.com", "-n", "email", "-s", sigPath], stdin: Self.message)
        #expect(wrongNamespace.status != 0)

        // Theirs, verified by us.
        try mustRun("ssh-keygen", ["-Y", "sign", "-f", path, "-n", "git", "-O", "hashalg=\(hash.name)", msgPath])
        let theirs = try SSHSig(armored: dir.read("msg.sig"))
        #expect(theirs.hashAlgorithm == hash)
        let signers = try AllowedSigners(parsing: dir.read("allowed"))
        let now = UInt64(Date().timeIntervalSince1970)
        try signers.verify(theirs, message: Self.message, principal: "alice@example.com", namespace: "git", at: now)
        #expect(throws: SSHKeyError(.invalidSignature, "")) {
            try signers.verify(theirs, message: Self.message, principal: "bob@example.com", namespace: "git", at: now)
        }
        #expect(throws: SSHKeyError(.namespaceMismatch, "")) {
            try signers.verify(theirs, message: Self.message, principal: "alice@example.com", namespace: "file", at: now)
        }
        #expect(signers.principals(for: theirs, at: now) == ["alice@example.com"])
    }

    @Test("certificates from ssh-keygen -s: fields, CA signature, SSHSIG with a certificate signer")
    func certificates() async throws {
        let dir = try TemporaryDirectory()
        let caPath = try sshKeygen(dir, name: "ca", type: "ed25519")
        let userPath = try sshKeygen(dir, name: "user", type: "ecdsa", bits: 256)
        try mustRun("ssh-keygen", ["-q", "-s", caPath, "-I", "alice-laptop", "-n", "alice,deploy", "-z", "42", "-V", "20200101:20991231", "-O", "force-command=/bin/true", userPath + ".pub"])
        let identity = try SSHPublicIdentity(openSSHLine: dir.read("user-cert.pub"))
        guard case .certificate(let cert) = identity else { Issue.record("not a certificate"); return }
        let ca = try SSHPublicKey(openSSHLine: dir.read("ca.pub"))
        #expect(cert.key == (try SSHPublicKey(openSSHLine: dir.read("user.pub"))))
        #expect(cert.signatureKey == ca)
        #expect(cert.keyID == "alice-laptop")
        #expect(cert.serial == 42)
        #expect(cert.kind == .user)
        #expect(cert.principals == ["alice", "deploy"])
        #expect(cert.criticalOptions.map(\.name) == ["force-command"])
        #expect(cert.extensions.map(\.name).contains("permit-pty"))
        #expect(cert.isValid(at: UInt64(Date().timeIntervalSince1970)))
        #expect(!cert.isValid(at: 1_000_000_000))
        #expect(cert.typeName == "ecdsa-sha2-nistp256-cert-v01@openssh.com")
        try cert.verifyCASignature()
        #expect(try SSHCertificate(wireBlob: cert.wireBlob) == cert)

        // A flipped byte in the signed part breaks the CA signature.
        var tampered = cert.wireBlob
        if let index = tampered.lastIndex(of: UInt8(ascii: "a")) { tampered[index] = UInt8(ascii: "b") }
        if let bad = try? SSHCertificate(wireBlob: tampered) {
            #expect(throws: SSHKeyError(.invalidCertificate, "")) { try bad.verifyCASignature() }
        }

        // SSHSIG made by us with the certificate: ssh-keygen accepts it through a cert-authority line.
        let signer = try CertifiedSigner(privateKey: SSHPrivateKey(fileContents: dir.read("user")), certificate: cert)
        let signature = try await SSHSig.sign(Self.message, namespace: "file", with: signer)
        let allowed = try dir.write("allowed", "alice cert-authority " + ca.openSSHLine() + "\n")
        let sigPath = try dir.write("cert.sig", signature.armored)
        let result = try runProcess("ssh-keygen", ["-Y", "verify", "-f", allowed, "-I", "alice", "-n", "file", "-s", sigPath], stdin: Self.message)
        #expect(result.status == 0, "\(result.stderr)")
        let now = UInt64(Date().timeIntervalSince1970)
        let signers = try AllowedSigners(parsing: dir.read("allowed"))
        try signers.verify(signature, message: Self.message, principal: "alice", namespace: "file", at: now)
        #expect(throws: SSHKeyError(.invalidSignature, "")) {
            try signers.verify(signature, message: Self.message, principal: "mallory", namespace: "file", at: now)
        }
        #expect(signers.principals(for: signature, at: now) == ["alice"])

        // And a certificate signature made by ssh-keygen through the agent is read by us.
        let agent = try SSHAgentProcess()
        defer { agent.stop() }
        let env = agent.environment
        try agent.add(userPath)
        let msgPath = try dir.write("msg", String(decoding: Self.message, as: UTF8.self))
        try mustRun("ssh-keygen", ["-Y", "sign", "-f", dir.file("user-cert.pub"), "-n", "file", msgPath], environment: env)
        let theirs = try SSHSig(armored: dir.read("msg.sig"))
        #expect(theirs.signer == identity)
        try signers.verify(theirs, message: Self.message, principal: "alice", namespace: "file", at: now)
    }
}

extension Array where Element: Hashable {
    func uniqued() -> [Element] {
        var seen = Set<Element>()
        return self.filter { seen.insert($0).inserted }
    }
}
