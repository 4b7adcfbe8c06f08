import Foundation
import SSHKeys
import Testing
import TestSupport

@Suite("bcrypt_pbkdf")
struct BCryptPBKDFTests {
    struct Vector: Decodable, Sendable, CustomTestStringConvertible {
        var password: String
        var salt: String
        var rounds: Int
        var key: String
        var testDescription: String { "\(password)/\(salt)/\(rounds)/\(key.count / 2)" }
    }

    static let vectors: [Vector] = (try? JSONDecoder().decode([Vector].self, from: Data(contentsOf: Vectors.url("bcrypt_pbkdf/vectors.json")))) ?? []

    @Test("matches the published and pyca/bcrypt vectors", arguments: vectors)
    func vector(_ v: Vector) throws {
        let key = try BCryptPBKDF.deriveKey(passphrase: unhex(v.password), salt: unhex(v.salt), rounds: v.rounds, keyLength: v.key.count / 2)
        #expect(hex(key) == v.key)
    }

    @Test("the vector file is present")
    func vectorsLoaded() { #expect(Self.vectors.count >= 5) }

    @Test("matches the real pyca/bcrypt on random inputs")
    func livePeer() throws {
        let python = ProcessInfo.processInfo.environment["CRTAUTH_TEST_PYTHON"] ?? "python3"
        var generator = SystemRandomNumberGenerator()
        for length in [1, 17, 32, 48, 80] {
            let password = (0..<Int.random(in: 1...40, using: &generator)).map { _ in UInt8.random(in: 1...255, using: &generator) }
            let salt = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let script = "import bcrypt,sys; print(bcrypt.kdf(bytes.fromhex('\(hex(password))'), bytes.fromhex('\(hex(salt))'), \(length), 3, ignore_few_rounds=True).hex())"
            let result = try runProcess(python, ["-c", script])
            try #require(result.status == 0, "pyca/bcrypt is needed (./scripts/test installs it): \(result.stderr)")
            let ours = try BCryptPBKDF.deriveKey(passphrase: password, salt: salt, rounds: 3, keyLength: length)
            #expect(hex(ours) == result.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        }
    }

    @Test("refuses out-of-range parameters with a typed error")
    func limits() {
        #expect(throws: SSHKeyError(.limitExceeded, "")) { try BCryptPBKDF.deriveKey(passphrase: [1], salt: [1], rounds: 0, keyLength: 32) }
        #expect(throws: SSHKeyError(.limitExceeded, "")) { try BCryptPBKDF.deriveKey(passphrase: [1], salt: [1], rounds: BCryptPBKDF.maximumRounds + 1, keyLength: 32) }
        #expect(throws: SSHKeyError(.limitExceeded, "")) { try BCryptPBKDF.deriveKey(passphrase: [1], salt: [], rounds: 1, keyLength: 32) }
        #expect(throws: SSHKeyError(.limitExceeded, "")) { try BCryptPBKDF.deriveKey(passphrase: [1], salt: [1], rounds: 1, keyLength: BCryptPBKDF.maximumKeyLength + 1) }
    }
}
