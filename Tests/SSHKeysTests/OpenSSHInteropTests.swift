import Foundation
import SSHKeys
import Testing
import TestSupport

/// Keys made by the real ssh-keygen (OpenSSH 9.2) read by us, and ours read by it.
@Suite("OpenSSH key interop")
struct OpenSSHInteropTests {
    static let types = sshKeygenTypes.map { "\($0.type)-\($0.bits.map(String.init) ?? "")" }

    static func make(_ label: String, in dir: TemporaryDirectory, passphrase: String = "", extra: [String] = []) throws -> String {
        let parts = label.split(separator: "-")
        return try sshKeygen(dir, name: "k", type: String(parts[0]), bits: parts.count > 1 ? Int(parts[1]) : nil, passphrase: passphrase, extra: extra)
    }

    @Test("public keys and fingerprints equal ssh-keygen -l", arguments: types)
    func fingerprints(_ label: String) throws {
        let dir = try TemporaryDirectory()
        let path = try Self.make(label, in: dir)
        let line = try dir.read("k.pub")
        let parsed = try SSHPublicKey.parseOpenSSHLine(line)
        #expect(parsed.comment == "k@test")
        #expect(parsed.key.openSSHLine(comment: "k@test") + "\n" == line)
        let sha = try mustRun("ssh-keygen", ["-l", "-f", path + ".pub"]).split(separator: " ")[1]
        let md5 = try mustRun("ssh-keygen", ["-l", "-E", "md5", "-f", path + ".pub"]).split(separator: " ")[1]
        #expect(parsed.key.sha256Fingerprint == sha)
        #expect(parsed.key.md5Fingerprint == md5)
    }

    @Test("private keys from ssh-keygen, plain and encrypted, load and sign", arguments: types)
    func readPrivate(_ label: String) throws {
        let dir = try TemporaryDirectory()
        let plainPath = try Self.make(label, in: dir)
        let expected = try SSHPublicKey(openSSHLine: dir.read("k.pub"))
        let plain = try SSHPrivateKey(fileContents: dir.read("k"))
        #expect(plain.publicKey == expected)
        #expect(plain.comment == "k@test")

        try mustRun("ssh-keygen", ["-q", "-p", "-N", "correct horse", "-P", "", "-f", plainPath])
        let text = try dir.read("k")
        #expect(SSHPrivateKey.isEncryptedOpenSSHFile(text))
        let decrypted = try SSHPrivateKey(fileContents: text, passphrase: "correct horse")
        #expect(decrypted.publicKey == expected)
        #expect(throws: SSHKeyError(.wrongPassphrase, "")) { try SSHPrivateKey(fileContents: text, passphrase: "wrong horse") }
        #expect(throws: SSHKeyError(.passphraseRequired, "")) { try SSHPrivateKey(fileContents: text) }

        let signature = try decrypted.signature(for: Array("hello".utf8))
        try expected.verify(signature, for: Array("hello".utf8))
        #expect(!expected.isValidSignature(signature, for: Array("hellO".utf8)))
    }

    @Test("keys we write are read by ssh-keygen -y", arguments: SSHKeyType.all.filter { !$0.isSecurityKey }, [false, true])
    func writeOpenSSH(_ type: SSHKeyType, encrypted: Bool) throws {
        let dir = try TemporaryDirectory()
        let key = try SSHPrivateKey(generating: type, rsaBits: 2048, comment: "ours@test")
        let file = try key.openSSHFile(passphrase: encrypted ? "pw" : nil, rounds: 4)
        let path = try dir.write("ours", file)
        let out = try mustRun("ssh-keygen", ["-y", "-P", encrypted ? "pw" : "", "-f", path])
        #expect(try SSHPublicKey(openSSHLine: out) == key.publicKey)
        #expect(out.trimmingCharacters(in: .newlines) == key.publicKey.openSSHLine(comment: "ours@test"))
        // And back through our own reader.
        let again = try SSHPrivateKey(fileContents: file, passphrase: encrypted ? "pw" : nil)
        #expect(again.publicKey == key.publicKey && again.comment == "ours@test")
    }

    @Test("other ciphers: aes-gcm works, chacha20-poly1305 is a clear 'unsupported cipher'")
    func ciphers() throws {
        let dir = try TemporaryDirectory()
        for cipher in ["aes128-ctr", "aes192-ctr", "aes256-gcm@openssh.com", "aes128-gcm@openssh.com"] {
            _ = try sshKeygen(dir, name: cipher, type: "ed25519", passphrase: "pw", extra: ["-Z", cipher])
            let key = try SSHPrivateKey(fileContents: dir.read(cipher), passphrase: "pw")
            #expect(key.publicKey == (try SSHPublicKey(openSSHLine: dir.read(cipher + ".pub"))))
            #expect(throws: SSHKeyError(.wrongPassphrase, "")) { try SSHPrivateKey(fileContents: dir.read(cipher), passphrase: "px") }
        }
        _ = try sshKeygen(dir, name: "chacha", type: "ed25519", passphrase: "pw", extra: ["-Z", "chacha20-poly1305@openssh.com"])
        let error = #expect(throws: SSHKeyError.self) { try SSHPrivateKey(fileContents: dir.read("chacha"), passphrase: "pw") }
        #expect(error?.code == .unsupportedCipher)
        #expect(error?.message.contains("chacha20-poly1305@openssh.com") == true)
    }

    @Test("PEM PKCS#1, PKCS#8 and SEC1 private keys", arguments: types)
    func pemFormats(_ label: String) throws {
        for format in ["PEM", "PKCS8"] {
            let dir = try TemporaryDirectory()
            let path = try Self.make(label, in: dir, extra: ["-m", format])
            let text = try dir.read("k")
            if label.hasPrefix("ed25519") { continue }  // ssh-keygen writes ed25519 only as openssh-key-v1
            #expect(!text.contains("OPENSSH PRIVATE KEY"))
            let key = try SSHPrivateKey(fileContents: text)
            #expect(key.publicKey == (try SSHPublicKey(openSSHLine: dir.read("k.pub"))), "\(format) \(path)")
            // Our PKCS#8 output is readable by ssh-keygen.
            let ours = try dir.write("p8", try key.pkcs8PEM())
            #expect(try SSHPublicKey(openSSHLine: mustRun("ssh-keygen", ["-y", "-f", ours])) == key.publicKey)
        }
    }

    @Test("SPKI PEM export is what ssh-keygen -e -m PKCS8 prints, and imports back", arguments: types)
    func spki(_ label: String) throws {
        let dir = try TemporaryDirectory()
        let path = try Self.make(label, in: dir)
        let key = try SSHPublicKey(openSSHLine: dir.read("k.pub"))
        #expect(try SSHPublicKey(spkiPEM: key.spkiPEM) == key)
        // OpenSSH 9.2 converts only RSA and ECDSA keys to and from PKCS#8.
        if label.hasPrefix("ed25519") { return }
        let theirs = try mustRun("ssh-keygen", ["-e", "-m", "PKCS8", "-f", path + ".pub"])
        #expect(try SSHPublicKey(spkiPEM: theirs) == key)
        #expect(try key.spkiPEM == theirs)
        let imported = try mustRun("ssh-keygen", ["-i", "-m", "PKCS8", "-f", dir.write("spki.pem", key.spkiPEM)])
        #expect(try SSHPublicKey(openSSHLine: imported) == key)
    }
}
