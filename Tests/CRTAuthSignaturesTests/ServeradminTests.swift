import AuthCore
import CRTAuth
import CRTAuthSignatures
import Crypto
import Foundation
import SSHKeys
import Testing

@Suite("serveradmin SSH-signed requests")
struct ServeradminTests {
    /// RFC 8037 appendix A's Ed25519 key, the one adminapi's vectors were made with.
    static let rfc8037 = SSHPrivateKey(try! Curve25519.Signing.PrivateKey(rawRepresentation: [
        0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c, 0xc4,
        0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60,
    ]))

    /// (message, headers) from adminapi's vector file.
    static func vectors() throws -> [(body: String, headers: [String: String])] {
        let url = try #require(Bundle.module.url(forResource: "headers_1700000000", withExtension: "txt", subdirectory: "Vectors"))
        var result: [(String, [String: String])] = []
        for line in try String(contentsOf: url, encoding: .utf8).split(separator: "\n") {
            if line.hasPrefix("message=") {
                let message = line.dropFirst("message='".count).dropLast()
                let body = message.split(separator: ":", maxSplits: 1).dropFirst().first.map(String.init) ?? ""
                result.append((body, [:]))
            } else if let colon = line.firstIndex(of: ":"), line.hasPrefix("  X-") {
                result[result.count - 1].1[line[..<colon].trimmingCharacters(in: .whitespaces)] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
        }
        return result
    }

    static let owners: ServeradminSignatures.KeyOwner = { key in key == rfc8037.publicKey ? "alice" : nil }

    @Test("adminapi's vectors: our headers are byte for byte theirs, and verify")
    func vectors() async throws {
        let vectors = try Self.vectors()
        #expect(vectors.count == 2)
        for (body, expected) in vectors {
            let headers = try await ServeradminSignatures.headers(timestamp: 1_700_000_000, body: Array(body.utf8), signers: [Self.rfc8037])
            #expect(Dictionary(uniqueKeysWithValues: headers.map { ($0.name, $0.value) }) == expected)
            let outcome = try await ServeradminSignatures.verify(timestamp: expected["X-Timestamp"], publicKeys: expected["X-PublicKeys"], signatures: expected["X-Signatures"], body: Array(body.utf8), now: 1_700_000_010, owner: Self.owners, nonces: nil)
            guard case .success(let identity) = outcome else { Issue.record("refused: \(outcome)"); continue }
            #expect(identity.username == "alice" && identity.scheme == .serveradmin && identity.key == Self.rfc8037.publicKey)
        }
    }

    @Test("refusals: another body, outside ±16 s, unknown keys, any bad signature by a known key, keys of two users, a replay")
    func refusals() async throws {
        let body = Array(#"{"hello": "world"}"#.utf8)
        func verify(_ headers: [(name: String, value: String)], body: [UInt8], now: UInt64 = 1_700_000_000, owner: @escaping ServeradminSignatures.KeyOwner = ServeradminTests.owners, nonces: (any NonceStore)? = nil) async throws -> AuthenticationFailure.Reason? {
            let values = Dictionary(uniqueKeysWithValues: headers.map { ($0.name, $0.value) })
            let outcome = try await ServeradminSignatures.verify(timestamp: values["X-Timestamp"], publicKeys: values["X-PublicKeys"], signatures: values["X-Signatures"], body: body, now: now, owner: owner, nonces: nonces)
            if case .failure(let failure) = outcome { return failure.reason }
            return nil
        }
        let signed = try await ServeradminSignatures.headers(timestamp: 1_700_000_000, body: body, signers: [Self.rfc8037])
        #expect(try await verify(signed, body: body) == nil)
        #expect(try await verify(signed, body: Array("{}".utf8)) == .badSignature)
        #expect(try await verify(signed, body: body, now: 1_700_000_017) == .expired)
        #expect(try await verify(signed, body: body, now: 1_699_999_983) == .notYetValid)
        #expect(try await verify(signed, body: body, owner: { _ in nil }) == .unknownUser)

        // Two keys: an unknown one with a bad signature is skipped; a known one with a bad signature refuses.
        let stranger = try SSHPrivateKey(generating: .ed25519)
        let rsa = try SSHPrivateKey(generating: .rsa, rsaBits: 2048)
        let two = try await ServeradminSignatures.headers(timestamp: 1_700_000_000, body: body, signers: [stranger, Self.rfc8037])
        var values = Dictionary(uniqueKeysWithValues: two.map { ($0.name, $0.value) })
        let sigs = values["X-Signatures"]!.split(separator: ",")
        values["X-Signatures"] = sigs[1] + "," + sigs[1]  // the stranger's slot now holds a signature that is not its own
        let mixed = values.map { (name: $0.key, value: $0.value) }
        #expect(try await verify(mixed, body: body) == nil)
        #expect(try await verify(mixed, body: body, owner: { _ in "alice" }) == .badSignature)
        // Keys of two users together: refused (serveradmin's one-application rule).
        let users = try await ServeradminSignatures.headers(timestamp: 1_700_000_000, body: body, signers: [rsa, Self.rfc8037])
        #expect(try await verify(users, body: body, owner: { $0 == rsa.publicKey ? "bob" : "alice" }) == .refused)

        // A replay within the window is refused when a nonce store is given.
        let nonces = InMemoryNonceStore()
        #expect(try await verify(signed, body: body, nonces: nonces) == nil)
        #expect(try await verify(signed, body: body, now: 1_700_000_005, nonces: nonces) == .replayed)
    }

    @Test("malformed headers are typed errors", arguments: [
        ("", "AAAA", "AAAA"), ("12x", "AAAA", "AAAA"), ("170000000000000000000000", "AAAA", "AAAA"),
        ("1700000000", "AAAA,BBBB", "AAAA"), ("1700000000", "!!", "!!"), ("1700000000", "AAAA", "AAAA"),
    ])
    func malformed(timestamp: String, keys: String, signatures: String) async {
        await #expect(throws: SignatureSchemeError.self) {
            try await ServeradminSignatures.verify(timestamp: timestamp, publicKeys: keys, signatures: signatures, body: [UInt8](), now: 1_700_000_000, owner: Self.owners, nonces: nil)
        }
    }

    @Test("missing headers and more than 20 pairs are refused")
    func limits() async throws {
        await #expect(throws: SignatureSchemeError.self) {
            try await ServeradminSignatures.verify(timestamp: "1700000000", publicKeys: nil, signatures: "AAAA", body: [UInt8](), now: 1_700_000_000, owner: Self.owners, nonces: nil)
        }
        let many = Array(repeating: "AAAA", count: 21).joined(separator: ",")
        await #expect(throws: SignatureSchemeError(.tooLarge, "")) {
            try await ServeradminSignatures.verify(timestamp: "1700000000", publicKeys: many, signatures: many, body: [UInt8](), now: 1_700_000_000, owner: Self.owners, nonces: nil)
        }
    }
}
