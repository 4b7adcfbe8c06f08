import AuthCore
import Crypto
import Foundation
@testable import CRTAuth
import SSHKeys
import Testing
import TestSupport

enum Vectors {
    nonisolated(unsafe) static let json: [String: Any] = {  // read-only after first use
        let url = Bundle.module.url(forResource: "Vectors", withExtension: nil)!.appendingPathComponent("vectors.json")
        return (try? JSONSerialization.jsonObject(with: Data(contentsOf: url))) as? [String: Any] ?? [:]
    }()

    static func flow(_ version: String) -> [String: Any] { (json["flows"] as? [String: Any])?[version] as? [String: Any] ?? [:] }
    static func string(_ version: String, _ key: String) -> String { flow(version)[key] as? String ?? "" }

    static func text(_ name: String) throws -> String {
        try String(contentsOf: Bundle.module.url(forResource: "Vectors", withExtension: nil)!.appendingPathComponent(name), encoding: .utf8)
    }

    static let secret = SymmetricKey(data: Array("server_secret".utf8))
    static var testKey: SSHPrivateKey { get throws { try SSHPrivateKey(fileContents: text("test_key.pem")) } }
}

@Suite("crtauth codecs and messages, byte-exact with the reference vectors")
struct MessageTests {
    @Test("base64url: unpadded out, padded or unpadded in, strict alphabet")
    func base64url() {
        #expect(Base64URL.encode([0xDE, 0xAD]) == "3q0")
        #expect(Base64URL.encode([0xFF, 0xE0]) == "_-A")
        for text in ["a", "ab", "abc", "abcd"] {
            #expect(Base64URL.decode(Base64URL.encode(Array(text.utf8))) == Array(text.utf8))
        }
        #expect(Base64URL.decode("3q0=") == [0xDE, 0xAD])
        #expect(Base64URL.decode("3q0") == [0xDE, 0xAD])
        #expect(Base64URL.decode("3q+") == nil)
        #expect(Base64URL.decode("3q@") == nil)
        #expect(Base64URL.decode("a") == nil)
        #expect(Base64URL.decode("3q1") == nil)  // non-zero leftover bits
        #expect(Base64URL.decode("") == [])
    }

    @Test("base64url: every length to 300 agrees with Foundation; a bad character anywhere is refused")
    func base64urlLengths() {
        var generator = SystemRandomNumberGenerator()
        for length in 0...300 {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let text = Base64URL.encode(bytes)
            let standard = Data(bytes).base64EncodedString()
            #expect(text == standard.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: ""))
            #expect(Base64URL.decode(text) == bytes)
            guard !text.isEmpty else { continue }
            // The decoder works in groups of 8 characters, then 4, then the rest: a bad
            // character must be caught in each.
            for position in Set([0, text.utf8.count / 2, text.utf8.count - 1, Int.random(in: 0..<text.utf8.count)]) {
                // ("=" only inside: at the end it can be padding.)
                for bad in [UInt8(ascii: "+"), UInt8(ascii: "/"), UInt8(ascii: "@"), 0, 0x80, 0xFF] + (position < text.utf8.count - 2 ? [UInt8(ascii: "=")] : []) {
                    var corrupt = Array(text.utf8)
                    corrupt[position] = bad
                    #expect(Base64URL.decode(String(decoding: corrupt, as: UTF8.self)) == nil, "length \(length), position \(position), byte \(bad)")
                }
            }
        }
    }

    @Test("msgpack: shortest form out (str8 at 32), every width in")
    func msgpack() throws {
        var writer = MessagePackWriter()
        writer.writeUInt(5)
        writer.writeUInt(200)
        writer.writeUInt(1000)
        writer.writeUInt(1_700_000_000)
        writer.writeString(String(repeating: "x", count: 32))
        writer.writeBinary([UInt8](repeating: 1, count: 256))
        #expect(hex(writer.bytes.prefix(12)) == "05ccc8cd03e8ce6553f100d9")
        var reader = MessagePackReader(writer.bytes, what: "t")
        #expect(try reader.readUInt("a") == 5)
        #expect(try reader.readUInt("b") == 200)
        #expect(try reader.readUInt("c") == 1000)
        #expect(try reader.readUInt("d") == 1_700_000_000)
        #expect(try reader.readString("e", limit: 64).count == 32)
        #expect(try reader.readBinary("f", limit: 300).count == 256)
        try reader.expectEnd()
        // str16 / str32 / uint64 / bin32 are accepted.
        var wide = MessagePackReader([0xDA, 0x00, 0x02, 0x68, 0x69, 0xDB, 0, 0, 0, 1, 0x41, 0xCF, 0, 0, 0, 0, 0, 0, 0, 9, 0xC6, 0, 0, 0, 1, 7], what: "t")
        #expect(try wide.readString("a", limit: 10) == "hi")
        #expect(try wide.readString("b", limit: 10) == "A")
        #expect(try wide.readUInt("c") == 9)
        #expect(try wide.readBinary("d", limit: 10) == [7])
        var wrong = MessagePackReader([0xC4, 0x01, 0x00], what: "t")
        #expect(throws: CRTAuthError(.malformed, "")) { try wrong.readString("s", limit: 10) }
        var big = MessagePackReader([0xD9, 0x41] + [UInt8](repeating: 0x61, count: 0x41), what: "t")
        #expect(throws: CRTAuthError(.tooLarge, "")) { try big.readString("s", limit: 64) }
    }

    @Test("v1 upstream vectors: challenge, token, request")
    func upstreamV1() throws {
        let challenge = try CRTAuthChallenge(decoding: "AWPEFHVYRk_S23_-fX-TkSB2aIlHNh_CzlFdiK7OUV2J2sQGTJoHEssesnNlcnZlci5leGFtcGxlLmNvbah1c2VybmFtZcQg9y3oyBv4xUfpPHC9ZcHoj-c1hjHtOj9TSn_jVvv8ELI=")
        #expect(challenge.username == "username" && challenge.serverName == "server.example.com")
        #expect(challenge.validFrom == 1_365_084_334 && challenge.validTo == 1_365_084_634)
        #expect(hex(challenge.fingerprint) == "4c9a0712cb1e")
        #expect(challenge.isAuthentic(secrets: [SymmetricKey(data: Array("secret".utf8))]))
        #expect(!challenge.isAuthentic(secrets: [SymmetricKey(data: Array("wrong".utf8))]))
        let rebuilt = CRTAuthChallenge(version: .v1, uniqueData: challenge.uniqueData, validFrom: challenge.validFrom, validTo: challenge.validTo, fingerprint: challenge.fingerprint, serverName: challenge.serverName, username: challenge.username, secret: SymmetricKey(data: Array("secret".utf8)))
        #expect(rebuilt.bytes == challenge.bytes)

        let token = CRTAuthToken(version: .v1, validFrom: 1_365_084_334, validTo: 1_365_084_634, username: "noa", secret: SymmetricKey(data: Array("gurkburk".utf8)))
        #expect(hex(token.bytes) == "0174ce515d88aece515d89daa36e6f61c420295954c999de49c4b9ed7c24daccaf2f4193421574145f5c896419625b8de26f")
        var tampered = token.bytes
        tampered[tampered.count - 36] = UInt8(ascii: "0")
        #expect(!(try CRTAuthToken(bytes: tampered)).isAuthentic(secrets: [SymmetricKey(data: Array("gurkburk".utf8))]))
        #expect(CRTAuthRequest(username: "noa").encoded == "AXGjbm9h")
        #expect(try CRTAuthRequest(decoding: "AXGjbm9h").username == "noa")
    }

    @Test("v0 upstream vectors: inner token and challenge layout, the roundtrip token")
    func upstreamV0() throws {
        let token = CRTAuthToken(version: .v0, validFrom: 1_365_084_334, validTo: 1_365_084_634, username: "noa", secret: Vectors.secret)
        #expect(hex(token.bytes[token.macInput]) == "74000000515d88ae515d89da000000036e6f6100")
        let challenge = CRTAuthChallenge(version: .v0, uniqueData: unhex("85399e484bc6833d0c2cdaf74b8ec3ea7d3a24f8"), validFrom: 1_365_084_334, validTo: 1_367_073_504, fingerprint: unhex("0902c87c835b"), serverName: "example.com", username: "user", secret: Vectors.secret)
        #expect(hex(challenge.signedBytes) == "6300000085399e484bc6833d0c2cdaf74b8ec3ea7d3a24f8515d88ae517be2e0000000060902c87c835b00000000000b6578616d706c652e636f6d000000000475736572")
        let roundtrip = try CRTAuthToken(decoding: "dgAAAJgtmNoqST9RaxayI7UP5-GLviUDAAAAFHQAAABUJYr_VCWLPQAAAAR0ZXN0")
        #expect(roundtrip.username == "test" && roundtrip.validFrom == 1_411_746_559 && roundtrip.validTo == 1_411_746_621)
        #expect(roundtrip.isAuthentic(secrets: [Vectors.secret]))
        #expect(!roundtrip.isAuthentic(secrets: [SymmetricKey(data: Array("wrong_secret".utf8))]))
    }

    @Test("generated end-to-end vectors, v1 and v0: every message byte for byte", arguments: ["v0", "v1"])
    func endToEnd(_ version: String) async throws {
        let v: CRTAuthVersion = version == "v0" ? .v0 : .v1
        let key = try Vectors.testKey
        let server = try AuthServer(
            configuration: .init(serverName: "server.example.com", secrets: [Vectors.secret], tokenFormat: .v0),
            keyProvider: InMemoryKeyProvider(keys: ["test": [key.publicKey]]),
            random: { Array(0..<UInt8($0)) }
        )
        let request = v == .v0 ? CRTAuthRequest.classify("test") : CRTAuthRequest.classify(Vectors.string("v1", "request_b64"))
        #expect(request.version == v && request.username == "test")
        guard case .success(let challenge) = try await server.createChallenge(for: request, now: 1_700_000_000) else {
            Issue.record("no challenge"); return
        }
        #expect(challenge.encoded == Vectors.string(version, "challenge_b64"))

        let response = try await CRTAuthClientResponder.respond(to: challenge.encoded, serverName: "server.example.com", signers: [key])
        #expect(hex(response.signature) == Vectors.string(version, "signature_hex"))
        #expect(response.encoded == Vectors.string(version, "response_b64"))

        guard case .success(let issued) = try await server.createToken(response: response.encoded, now: 1_700_000_005) else {
            Issue.record("no token"); return
        }
        #expect(issued.token.encoded == Vectors.string(version, "token_b64 (python server, always v0 format)"))
        #expect(issued.identity.username == "test" && issued.identity.keyFingerprint == key.publicKey.sha256Fingerprint)

        // The same handshake with a Java-format server gives Java's token.
        let java = try AuthServer(configuration: .init(serverName: "server.example.com", secrets: [Vectors.secret], tokenFormat: .v1), keyProvider: server.keyProvider)
        #expect(hex(java.issueToken(for: "test", now: 1_700_000_005).bytes) == Vectors.string("v1", "java_token_hex"))
    }

    @Test("unknown users get Python's fake fingerprint")
    func unknownUser() async throws {
        let server = try AuthServer(configuration: .init(serverName: "server.example.com", secrets: [Vectors.secret]), keyProvider: InMemoryKeyProvider())
        for version in [CRTAuthVersion.v0, .v1] {
            guard case .success(let challenge) = try await server.createChallenge(for: CRTAuthRequest(username: "nobody", version: version), now: 1_700_000_000) else {
                Issue.record("no challenge"); continue
            }
            #expect(hex(challenge.fingerprint) == "49f5661f017f")
        }
    }
}

@Suite("Prepared HMAC states")
struct PreparedSecretsTests {
    @Test("match swift-crypto's HMAC for short, block-sized and long keys", arguments: [1, 20, 63, 64, 65, 200])
    func matchesHMAC(_ keyLength: Int) {
        let key = SymmetricKey(data: (0..<keyLength).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 1) })
        let prepared = PreparedSecrets([key])
        for length in [0, 1, 55, 64, 100] {
            let message = (0..<length).map { UInt8(truncatingIfNeeded: $0) }
            var mac = [UInt8](repeating: 0, count: 32)
            message.withUnsafeBytes { input in mac.withUnsafeMutableBytes { prepared.sha256MAC(of: input, into: $0) } }
            #expect(mac == Array(HMAC<SHA256>.authenticationCode(for: message, using: key)))
            #expect(prepared.sha1MAC(message) == Array(HMAC<Insecure.SHA1>.authenticationCode(for: message, using: key)))
            message.withUnsafeBytes { input in
                #expect(Array(HMAC<SHA256>.authenticationCode(for: message, using: key)).withUnsafeBytes { prepared.isValid($0, over: input, version: .v1) })
                #expect(![UInt8](repeating: 0, count: 32).withUnsafeBytes { prepared.isValid($0, over: input, version: .v1) })
            }
        }
    }
}
