import Foundation
@testable import SSHKeys

/// OpenSSH's formats: public key lines and blobs, certificates, private key files, the key
/// lists of sshd and ssh-keygen, SSHSIG, signatures and base64url.
let sshKeyTargets: [FuzzTarget] = [
    FuzzTarget(name: "public-key-line") { bytes in
        guard let (key, comment) = try? SSHPublicKey.parseOpenSSHLine(text(bytes)) else { return }
        checkKey(key)
        let again = try? SSHPublicKey.parseOpenSSHLine(key.openSSHLine(comment: comment))
        require(again?.key == key, "a key line written again parses to another key")
    },
    FuzzTarget(name: "public-key-blob") { bytes in
        guard let key = try? SSHPublicKey(wireBlob: bytes) else { return }
        require(key.wireBlob == bytes, "a blob that parses is not the key's canonical blob")
        checkKey(key)
    },
    FuzzTarget(name: "certificate") { bytes in
        var certificate = try? SSHCertificate(wireBlob: bytes)
        if certificate == nil, case .certificate(let fromLine)? = try? SSHPublicIdentity(openSSHLine: text(bytes)) { certificate = fromLine }
        guard let certificate else { return }
        let again = try? SSHCertificate(wireBlob: certificate.wireBlob)
        require(again == certificate, "a certificate's blob parses to another certificate")
        _ = try? certificate.verifyCASignature()
        checkKey(certificate.key)
    },
    FuzzTarget(name: "private-key") { bytes in
        // The encrypted path runs with a fixed passphrase; a file asking for more than a few
        // bcrypt rounds is skipped (each round is deliberately slow: 10,000, the limit, take
        // minutes — a key file is the user's own, not an attacker's).
        let file = text(bytes)
        guard kdfRounds(inOpenSSHFile: file).map({ $0 <= 4 }) ?? true else { return }
        guard let key = try? SSHPrivateKey(fileContents: file, passphrase: "fuzz") else { return }
        checkKey(key.publicKey)
        let written = try? key.openSSHFile(passphrase: nil)
        let again = written.flatMap { try? SSHPrivateKey(fileContents: $0, passphrase: nil) }
        require(again?.publicKey == key.publicKey, "a private key written again reads as another key")
    },
    FuzzTarget(name: "authorized-keys") { bytes in
        guard let entries = try? AuthorizedKeys.parse(text(bytes)) else { return }
        for entry in entries {
            _ = try? entry.expiryTime()
            checkKey(entry.key)
        }
    },
    FuzzTarget(name: "allowed-signers") { bytes in
        guard let signers = try? AllowedSigners(parsing: text(bytes)) else { return }
        for entry in signers.entries {
            _ = try? entry.validAfter()
            _ = try? entry.validBefore()
            checkKey(entry.key)
        }
    },
    FuzzTarget(name: "sshsig-armor") { bytes in
        guard let signature = try? SSHSig(armored: text(bytes)) else { return }
        let again = try? SSHSig(armored: signature.armored)
        require(again?.wireBlob == signature.wireBlob, "an SSHSIG armoured again reads as another")
    },
    FuzzTarget(name: "sshsig-blob") { bytes in
        guard let signature = try? SSHSig(wireBlob: bytes) else { return }
        let again = try? SSHSig(wireBlob: signature.wireBlob)
        require(again?.wireBlob == signature.wireBlob, "an SSHSIG blob written again reads as another")
    },
    FuzzTarget(name: "ssh-signature") { bytes in
        guard let signature = try? SSHSignature(wireBlob: bytes) else { return }
        let again = try? SSHSignature(wireBlob: signature.wireBlob)
        require(again?.wireBlob == signature.wireBlob, "a signature blob written again reads as another")
    },
    FuzzTarget(name: "base64url") { bytes in
        let input = text(bytes)
        guard let decoded = Base64URL.decode(input) else { return }
        // Strict: one text per byte string (no stray bits, no other alphabet), padding optional
        // (crtauth writes none and reads both) but, when present, exactly RFC 4648's.
        let canonical = Base64URL.encode(decoded)
        let padded = canonical + String(repeating: "=", count: (4 - canonical.utf8.count % 4) % 4)
        require(input == canonical || input == padded, "two base64url texts decode to the same bytes")
    },
]

/// What holds for any key that parsed: its fingerprints are stable and its blob reads back.
func checkKey(_ key: SSHPublicKey) {
    let fingerprint = key.sha256Fingerprint
    require(fingerprint == key.sha256Fingerprint && fingerprint.hasPrefix("SHA256:"), "an unstable fingerprint")
    let again = try? SSHPublicKey(wireBlob: key.wireBlob)
    require(again == key && again?.sha256Fingerprint == fingerprint, "a key's blob parses to another key")
}

/// The bcrypt rounds an `openssh-key-v1` file asks for, when it is one that can be read that
/// far (read here independently of the parser under test).
func kdfRounds(inOpenSSHFile file: String) -> Int? {
    let lines = file.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
    guard let begin = lines.firstIndex(of: "-----BEGIN OPENSSH PRIVATE KEY-----") else { return nil }
    let body = lines[(begin + 1)...].prefix { !$0.hasPrefix("-----END") }.joined()
    guard let data = Data(base64Encoded: body, options: .ignoreUnknownCharacters) else { return nil }
    var bytes = [UInt8](data)
    let magic = Array("openssh-key-v1\0".utf8)
    guard bytes.starts(with: magic) else { return nil }
    bytes.removeFirst(magic.count)
    func string() -> [UInt8]? {
        guard bytes.count >= 4 else { return nil }
        let length = bytes.prefix(4).reduce(0) { $0 << 8 | Int($1) }
        guard bytes.count >= 4 + length else { return nil }
        defer { bytes.removeFirst(4 + length) }
        return Array(bytes[4..<(4 + length)])
    }
    guard string() != nil, string() != nil, var options = string() else { return nil }
    guard options.count >= 4 else { return 0 }
    let saltLength = options.prefix(4).reduce(0) { $0 << 8 | Int($1) }
    guard options.count >= 8 + saltLength else { return 0 }
    options.removeFirst(4 + saltLength)
    return options.prefix(4).reduce(0) { $0 << 8 | Int($1) }
}
