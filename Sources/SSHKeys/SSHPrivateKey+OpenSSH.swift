import Crypto
import _CryptoExtras
import Foundation

// The openssh-key-v1 private key file (OpenSSH PROTOCOL.key) is written by hand here: no
// package on this platform reads or writes it.

extension SSHPrivateKey {
    static let openSSHMagic: [UInt8] = Array("openssh-key-v1".utf8) + [0]
    static let openSSHLabel = "OPENSSH PRIVATE KEY"
    /// Rounds we use when encrypting: OpenSSH's default since 9.4.
    public static let defaultKDFRounds = 24

    private struct Cipher {
        var name: String
        var keyLength: Int
        var ivLength: Int
        var blockSize: Int
        var tagLength: Int

        static let none = Cipher(name: "none", keyLength: 0, ivLength: 0, blockSize: 8, tagLength: 0)
        static let supported: [Cipher] = [
            Cipher(name: "aes128-ctr", keyLength: 16, ivLength: 16, blockSize: 16, tagLength: 0),
            Cipher(name: "aes192-ctr", keyLength: 24, ivLength: 16, blockSize: 16, tagLength: 0),
            Cipher(name: "aes256-ctr", keyLength: 32, ivLength: 16, blockSize: 16, tagLength: 0),
            Cipher(name: "aes128-gcm@openssh.com", keyLength: 16, ivLength: 12, blockSize: 16, tagLength: 16),
            Cipher(name: "aes256-gcm@openssh.com", keyLength: 32, ivLength: 12, blockSize: 16, tagLength: 16),
        ]

        func crypt(_ data: some DataProtocol, keyAndIV: [UInt8], tag: ArraySlice<UInt8>?, encrypting: Bool) throws -> (bytes: [UInt8], tag: [UInt8]) {
            let key = SymmetricKey(data: keyAndIV.prefix(self.keyLength))
            let iv = keyAndIV[self.keyLength..<(self.keyLength + self.ivLength)]
            if self.tagLength == 0 {
                let out = try AES._CTR.encrypt(data, using: key, nonce: try AES._CTR.Nonce(nonceBytes: iv))
                return (Array(out), [])
            }
            let nonce = try AES.GCM.Nonce(data: iv)
            if encrypting {
                let box = try AES.GCM.seal(data, using: key, nonce: nonce)
                return (Array(box.ciphertext), Array(box.tag))
            }
            let box = try AES.GCM.SealedBox(nonce: nonce, ciphertext: data, tag: tag ?? [])
            return (Array(try AES.GCM.open(box, using: key)), [])
        }
    }

    /// Reads an `-----BEGIN OPENSSH PRIVATE KEY-----` file, decrypting it with `passphrase` when
    /// it is encrypted.
    public init(openSSHFile text: some StringProtocol, passphrase: String? = nil) throws {
        let block = try PEMBlock(parsing: text)
        guard block.label == Self.openSSHLabel else {
            throw SSHKeyError(.invalidPEM, "expected an OPENSSH PRIVATE KEY block, got \(SSHKeyError.quoted(block.label))")
        }
        try self.init(openSSHBinary: block.der, passphrase: passphrase)
    }

    /// Whether an openssh-key-v1 file is encrypted (reads only its header).
    public static func isEncryptedOpenSSHFile(_ text: some StringProtocol) -> Bool {
        guard let block = try? PEMBlock(parsing: text), block.der.starts(with: openSSHMagic) else { return false }
        var reader = SSHWireReader(block.der.dropFirst(openSSHMagic.count), what: "private key file")
        return (try? reader.readText(field: "cipher")).map { $0 != "none" } ?? false
    }

    /// Reads the binary openssh-key-v1 structure.
    init(openSSHBinary bytes: [UInt8], passphrase: String?) throws {
        guard bytes.starts(with: Self.openSSHMagic) else {
            throw SSHKeyError(.invalidEncoding, "not an openssh-key-v1 private key")
        }
        var reader = SSHWireReader(bytes.dropFirst(Self.openSSHMagic.count), what: "private key file")
        let cipherName = try reader.readText(field: "cipher name", limit: 64)
        let kdfName = try reader.readText(field: "KDF name", limit: 64)
        let kdfOptions = try reader.readString(field: "KDF options", limit: 1024)
        let count = try reader.readUInt32()
        guard count == 1 else {
            throw SSHKeyError(.limitExceeded, "the file holds \(count) keys; exactly one is supported (as OpenSSH)")
        }
        let publicBlob = try reader.readString(field: "public key")
        let outerPublicKey = try SSHPublicKey(wireBlob: publicBlob)
        let encrypted = try reader.readString(field: "private section")

        let cipher: Cipher
        var keyAndIV: [UInt8] = []
        if cipherName == "none" {
            guard kdfName == "none", kdfOptions.isEmpty else {
                throw SSHKeyError(.invalidEncoding, "an unencrypted key must have KDF 'none'")
            }
            cipher = .none
        } else {
            guard let found = Cipher.supported.first(where: { $0.name == cipherName }) else {
                throw SSHKeyError(.unsupportedCipher, "unsupported cipher \(SSHKeyError.quoted(cipherName)); re-encrypt the key with 'ssh-keygen -p -Z aes256-ctr'")
            }
            guard kdfName == "bcrypt" else {
                throw SSHKeyError(.unsupportedKDF, "unsupported key derivation \(SSHKeyError.quoted(kdfName))")
            }
            guard let passphrase else {
                throw SSHKeyError(.passphraseRequired, "the private key is encrypted; a passphrase is needed")
            }
            var options = SSHWireReader(kdfOptions, what: "bcrypt options")
            let salt = try options.readString(field: "salt", limit: 1024)
            let rounds = try options.readUInt32()
            try options.expectEnd()
            guard let roundCount = Int(exactly: rounds), roundCount <= BCryptPBKDF.maximumRounds else {
                throw SSHKeyError(.limitExceeded, "the key asks for \(rounds) KDF rounds; at most \(BCryptPBKDF.maximumRounds) are allowed")
            }
            keyAndIV = try BCryptPBKDF.deriveKey(passphrase: Array(passphrase.utf8), salt: salt, rounds: roundCount, keyLength: found.keyLength + found.ivLength)
            cipher = found
        }
        let tag = try reader.readBytes(cipher.tagLength, field: "authentication tag")
        try reader.expectEnd()
        guard encrypted.count % cipher.blockSize == 0 else {
            throw SSHKeyError(.invalidEncoding, "the private section is not a multiple of the cipher block size")
        }
        let plain: [UInt8]
        if cipher.name == "none" {
            plain = Array(encrypted)
        } else {
            do {
                plain = try cipher.crypt(encrypted, keyAndIV: keyAndIV, tag: tag, encrypting: false).bytes
            } catch {
                throw SSHKeyError(.wrongPassphrase, "the passphrase does not decrypt the private key")
            }
        }
        var section = SSHWireReader(plain, what: "private section")
        let check1 = try section.readUInt32()
        let check2 = try section.readUInt32()
        guard check1 == check2 else {
            if cipher.name == "none" { throw SSHKeyError(.invalidEncoding, "the private section's check numbers differ") }
            throw SSHKeyError(.wrongPassphrase, "the passphrase does not decrypt the private key")
        }
        var key = try SSHPrivateKey.read(from: &section)
        key.comment = try section.readText(field: "comment", limit: 4096)
        var expected: UInt8 = 1
        while !section.isAtEnd {
            guard try section.readByte() == expected else {
                throw SSHKeyError(.invalidEncoding, "bad padding in the private section")
            }
            expected &+= 1
        }
        guard key.publicKey == outerPublicKey else {
            throw SSHKeyError(.keyTypeMismatch, "the private key does not match the public key in the file header")
        }
        self = key
    }

    /// The key as an openssh-key-v1 file (70-column armor, as ssh-keygen writes), encrypted with
    /// bcrypt_pbkdf and aes256-ctr when `passphrase` is given and not empty.
    public func openSSHFile(passphrase: String? = nil, rounds: Int = SSHPrivateKey.defaultKDFRounds) throws -> String {
        var generator = SystemRandomNumberGenerator()
        let check = UInt32.random(in: .min ... .max, using: &generator)
        let encrypting = !(passphrase ?? "").isEmpty
        let cipher = encrypting ? Cipher.supported[2] : Cipher.none

        var section = SSHWireWriter()
        section.writeUInt32(check)
        section.writeUInt32(check)
        self.write(to: &section)
        section.writeString(self.comment)
        var pad: UInt8 = 1
        while section.bytes.count % cipher.blockSize != 0 {
            section.writeByte(pad)
            pad += 1
        }

        var out = SSHWireWriter()
        out.writeRaw(Self.openSSHMagic)
        out.writeString(cipher.name)
        if encrypting, let passphrase {
            let salt = (0..<16).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
            var options = SSHWireWriter()
            options.writeString(salt)
            options.writeUInt32(UInt32(clamping: rounds))
            let keyAndIV = try BCryptPBKDF.deriveKey(passphrase: Array(passphrase.utf8), salt: salt, rounds: rounds, keyLength: cipher.keyLength + cipher.ivLength)
            out.writeString("bcrypt")
            out.writeString(options.bytes)
            out.writeUInt32(1)
            out.writeString(self.publicKey.wireBlob)
            let sealed = try wrap(.invalidKey, "encryption failed") { try cipher.crypt(section.bytes, keyAndIV: keyAndIV, tag: nil, encrypting: true) }
            out.writeString(sealed.bytes)
            out.writeRaw(sealed.tag)
        } else {
            out.writeString("none")
            out.writeString([UInt8]())
            out.writeUInt32(1)
            out.writeString(self.publicKey.wireBlob)
            out.writeString(section.bytes)
        }
        return PEMBlock(label: Self.openSSHLabel, der: out.bytes).armored(width: 70)
    }
}

extension SSHPrivateKey {
    /// The public key in an openssh-key-v1 file's header, read without decrypting anything.
    public static func publicKey(ofOpenSSHFile text: some StringProtocol) throws -> SSHPublicKey {
        let block = try PEMBlock(parsing: text)
        guard block.label == openSSHLabel, block.der.starts(with: openSSHMagic) else {
            throw SSHKeyError(.invalidPEM, "not an OPENSSH PRIVATE KEY file")
        }
        var reader = SSHWireReader(block.der.dropFirst(openSSHMagic.count), what: "private key file")
        _ = try reader.readString(field: "cipher name", limit: 64)
        _ = try reader.readString(field: "KDF name", limit: 64)
        _ = try reader.readString(field: "KDF options", limit: 1024)
        guard try reader.readUInt32() == 1 else {
            throw SSHKeyError(.limitExceeded, "the file must hold exactly one key")
        }
        return try SSHPublicKey(wireBlob: try reader.readString(field: "public key"))
    }
}
