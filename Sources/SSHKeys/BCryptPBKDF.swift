import Crypto

// bcrypt_pbkdf (OpenBSD, used by OpenSSH to encrypt openssh-key-v1 files) is written here:
// no package on this platform offers it. It is PBKDF2-like, with a bcrypt-based hash over
// SHA-512 of the passphrase and of the salt, and an output "striped" across blocks.

/// bcrypt_pbkdf as OpenSSH uses it for private key files.
public enum BCryptPBKDF {
    /// Most rounds we run for an untrusted key file: OpenSSH writes 16 or 24; `ssh-keygen -a`
    /// users pick up to a few hundred. Each round is ~1 ms, so this caps the work at seconds.
    public static let maximumRounds = 10_000
    /// Longest derived key we produce (the key and IV of any OpenSSH cipher fit in 64+16).
    public static let maximumKeyLength = 1024

    /// Derives `keyLength` bytes from `passphrase` and `salt` with `rounds` rounds.
    public static func deriveKey(passphrase: some Collection<UInt8>, salt: some Collection<UInt8>, rounds: Int, keyLength: Int) throws -> [UInt8] {
        guard rounds >= 1, rounds <= maximumRounds else {
            throw SSHKeyError(.limitExceeded, "bcrypt_pbkdf rounds must be between 1 and \(maximumRounds), not \(rounds)")
        }
        guard keyLength >= 1, keyLength <= maximumKeyLength else {
            throw SSHKeyError(.limitExceeded, "bcrypt_pbkdf key length must be between 1 and \(maximumKeyLength)")
        }
        guard !salt.isEmpty, salt.count <= 1024 else {
            throw SSHKeyError(.limitExceeded, "bcrypt_pbkdf salt must be 1 to 1024 bytes")
        }
        let hashLength = 32
        let stride = (keyLength + hashLength - 1) / hashLength
        let amount = (keyLength + stride - 1) / stride
        let passHash = Array(SHA512.hash(data: Array(passphrase)))
        var key = [UInt8](repeating: 0, count: keyLength)
        var countSalt = Array(salt) + [0, 0, 0, 0]
        var remaining = keyLength
        var count: UInt32 = 1
        while remaining > 0 {
            countSalt[countSalt.count - 4] = UInt8(count >> 24)
            countSalt[countSalt.count - 3] = UInt8((count >> 16) & 0xFF)
            countSalt[countSalt.count - 2] = UInt8((count >> 8) & 0xFF)
            countSalt[countSalt.count - 1] = UInt8(count & 0xFF)
            var saltHash = Array(SHA512.hash(data: countSalt))
            var block = bcryptHash(passHash: passHash, saltHash: saltHash)
            var output = block
            for _ in 1..<rounds {
                saltHash = Array(SHA512.hash(data: block))
                block = bcryptHash(passHash: passHash, saltHash: saltHash)
                for i in 0..<hashLength { output[i] ^= block[i] }
            }
            let take = min(amount, remaining)
            var written = 0
            for i in 0..<take {
                let destination = i * stride + Int(count - 1)
                if destination >= keyLength { break }
                key[destination] = output[i]
                written += 1
            }
            remaining -= written
            count += 1
        }
        return key
    }

    /// The magic plaintext bcrypt encrypts.
    private static let magic: [UInt32] = Array("OxychromaticBlowfishSwatDynamite".utf8).withUnsafeBufferPointer { bytes in
        (0..<8).map { i in (0..<4).reduce(UInt32(0)) { ($0 << 8) | UInt32(bytes[i * 4 + $1]) } }
    }

    /// bcrypt_hash: 64 rounds of the expensive key schedule, then 64 encryptions of the magic.
    static func bcryptHash(passHash: [UInt8], saltHash: [UInt8]) -> [UInt8] {
        var state = BlowfishState()
        passHash.withUnsafeBufferPointer { pass in
            saltHash.withUnsafeBufferPointer { salt in
                state.expand(data: salt, key: pass)
                for _ in 0..<64 {
                    state.expand(key: salt)
                    state.expand(key: pass)
                }
            }
        }
        var data = magic
        for _ in 0..<64 { state.encrypt(&data) }
        var out = [UInt8](repeating: 0, count: 32)
        for (i, word) in data.enumerated() {
            // Little-endian output, as OpenBSD's bcrypt_pbkdf writes it.
            out[4 * i] = UInt8(word & 0xFF)
            out[4 * i + 1] = UInt8((word >> 8) & 0xFF)
            out[4 * i + 2] = UInt8((word >> 16) & 0xFF)
            out[4 * i + 3] = UInt8(word >> 24)
        }
        return out
    }
}
