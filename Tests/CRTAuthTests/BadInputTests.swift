@testable import AuthCore
import Crypto
import Foundation
@testable import CRTAuth
import SSHKeys
import Testing
import TestSupport

@Suite("crtauth bad input: typed errors or refusals, never a trap")
struct CRTAuthBadInputTests {
    static let key = try! SSHPrivateKey(fileContents: Vectors.text("test_key.pem"))

    static func server() throws -> AuthServer {
        try AuthServer(configuration: .init(serverName: "server.example.com", secrets: [Vectors.secret], tokenFormat: .v0), keyProvider: InMemoryKeyProvider(keys: ["test": [key.publicKey]]))
    }

    static func expectTyped(_ body: () throws -> Any, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try body()
            Issue.record("expected an error", sourceLocation: sourceLocation)
        } catch is CRTAuthError {
        } catch {
            Issue.record("untyped error \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test("every prefix of every vector message is a typed error", arguments: ["challenge_b64", "response_b64", "token_b64 (python server, always v0 format)"], ["v0", "v1"])
    func dripFeed(_ field: String, _ version: String) throws {
        let bytes = try #require(Base64URL.decode(Vectors.string(version, field)))
        for length in 0..<bytes.count {
            let prefix = Array(bytes.prefix(length))
            switch field {
            case "challenge_b64": Self.expectTyped { try CRTAuthChallenge(bytes: prefix) }
            case "response_b64": Self.expectTyped { try CRTAuthResponse(decoding: Base64URL.encode(prefix)) }
            default: Self.expectTyped { try CRTAuthToken(bytes: prefix) }
            }
        }
    }

    @Test("trailing bytes after the MAC, wrong version and magic")
    func framing() throws {
        let challenge = try #require(Base64URL.decode(Vectors.string("v1", "challenge_b64")))
        #expect(throws: CRTAuthError(.trailingBytes, "")) { try CRTAuthChallenge(bytes: challenge + [0]) }
        var version = challenge
        version[0] = 3
        #expect(throws: CRTAuthError(.unsupportedVersion, "")) { try CRTAuthChallenge(bytes: version) }
        var magic = challenge
        magic[1] = UInt8(ascii: "t")
        #expect(throws: CRTAuthError(.wrongMessageType, "")) { try CRTAuthChallenge(bytes: magic) }
        let token = unhex(Vectors.string("v1", "java_token_hex"))
        #expect(throws: CRTAuthError(.trailingBytes, "")) { try CRTAuthToken(bytes: token + [0xC0]) }
        #expect(throws: CRTAuthError(.wrongMessageType, "")) { try CRTAuthToken(bytes: challenge) }
        let v0 = try #require(Base64URL.decode(Vectors.string("v0", "response_b64")))
        #expect(throws: CRTAuthError(.trailingBytes, "")) { try CRTAuthResponse(decoding: Base64URL.encode(v0 + [0, 0, 0, 0])) }
        #expect(throws: CRTAuthError(.wrongMessageType, "")) { try CRTAuthToken(decoding: Vectors.string("v0", "challenge_b64").replacingOccurrences(of: "dgAAAM", with: "dgAAAN")) }
    }

    @Test("garbage base64, empty input, 1 MiB input")
    func garbage() async throws {
        let server = try Self.server()
        for text in ["", "!!!!", "a", "random", "2tYneWsOm88qu_Trzahw2r6ZLg37oepv03mykGS-HdcnWJLuUMDOmfVIWl5n3U6qt6Fub2E", String(repeating: "A", count: 1 << 20)] {
            await #expect(throws: CRTAuthError.self) { try await server.createToken(response: text, now: 1_700_000_005) }
            #expect(throws: CRTAuthError.self) { try server.validateToken(text, now: 1_700_000_005) }
            #expect(throws: CRTAuthError.self) { try CRTAuthChallenge(decoding: text) }
        }
        let huge = #expect(throws: CRTAuthError.self) { try CRTAuthToken(decoding: String(repeating: "A", count: 1 << 20)) }
        #expect(huge?.code == .tooLarge)
        // Requests never fail: anything that is not a v1/v2 request is a v0 username, which
        // the server then limits.
        await #expect(throws: CRTAuthError(.tooLarge, "")) { try await server.createChallenge(for: .classify(String(repeating: "x", count: 65)), now: 1) }
        await #expect(throws: CRTAuthError(.tooLarge, "")) { try await server.createChallenge(for: .classify(""), now: 1) }
    }

    @Test("tampered HMAC, challenge for another server, a response mixing versions")
    func tampering() async throws {
        let server = try Self.server()
        let response = try CRTAuthResponse(decoding: Vectors.string("v1", "response_b64"))
        var challenge = response.challengeBytes
        challenge[challenge.count - 1] ^= 1
        let tampered = CRTAuthResponse(version: .v1, challengeBytes: challenge, signature: response.signature)
        #expect(try await server.createToken(response: tampered.encoded, now: 1_700_000_005).failureReason == .badMAC)
        let other = try AuthServer(configuration: .init(serverName: "other.example.com", secrets: [Vectors.secret]), keyProvider: server.keyProvider)
        #expect(try await other.createToken(response: response.encoded, now: 1_700_000_005).failureReason == .wrongServer)
        let v0Challenge = try #require(Base64URL.decode(Vectors.string("v0", "challenge_b64")))
        let mixed = CRTAuthResponse(version: .v1, challengeBytes: v0Challenge, signature: response.signature)
        await #expect(throws: CRTAuthError(.malformed, "")) { try await server.createToken(response: mixed.encoded, now: 1_700_000_005) }
        var tokenBytes = try #require(Base64URL.decode(Vectors.string("v0", "token_b64 (python server, always v0 format)")))
        tokenBytes[tokenBytes.count - 1] ^= 0x01
        #expect(try server.validateToken(Base64URL.encode(tokenBytes), now: 1_700_000_006).failureReason == .badMAC)
    }

    @Test("random mutations of every message only ever throw or refuse", arguments: ["v0", "v1"])
    func mutations(_ version: String) async throws {
        let server = try Self.server()
        var state: UInt64 = version == "v0" ? 1 : 2
        func next() -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(truncatingIfNeeded: state >> 33)
        }
        for field in ["challenge_b64", "response_b64", "token_b64 (python server, always v0 format)"] {
            let original = try #require(Base64URL.decode(Vectors.string(version, field)))
            for _ in 0..<300 {
                var bytes = original
                for _ in 0...(next() % 3) { bytes[next() % bytes.count] = UInt8(truncatingIfNeeded: next()) }
                let text = Base64URL.encode(bytes)
                _ = try? await server.createToken(response: text, now: 1_700_000_005)
                _ = try? server.validateToken(text, now: 1_700_000_005)
                _ = try? CRTAuthChallenge(bytes: bytes)
            }
        }
    }

    @Test("validateToken, which checks a token where it decodes it, agrees with the parsed token on every prefix and mutation")
    func tokenCheckInPlace() throws {
        let server = try Self.server()
        let v0 = try #require(Base64URL.decode(Vectors.string("v0", "token_b64 (python server, always v0 format)")))
        let v1 = try AuthServer(configuration: .init(serverName: "server.example.com", secrets: [Vectors.secret], tokenFormat: .v1), keyProvider: server.keyProvider)
            .issueToken(for: "test", now: 1_700_000_004).bytes
        for original in [v0, v1, unhex(Vectors.string("v1", "java_token_hex"))] {
            var cases = (0...original.count).map { Array(original.prefix($0)) } + [original + [0], original + [0, 0, 0, 0]]
            for index in original.indices {
                for flip: UInt8 in [0x01, 0x80, 0xFF] {
                    var bytes = original
                    bytes[index] ^= flip
                    cases.append(bytes)
                }
            }
            for bytes in cases {
                let text = Base64URL.encode(bytes)
                let checked = Result { try server.validateToken(text, now: 1_700_000_005) }
                switch Result(catching: { try CRTAuthToken(bytes: bytes) }) {
                case .failure(let error):
                    let expected = try #require(error as? CRTAuthError)
                    #expect(throws: expected, "\(hex(bytes))") { try checked.get() }
                case .success(let token):
                    let outcome = try #require(try? checked.get(), "\(hex(bytes))")
                    #expect((outcome.failureReason == .badMAC) == !token.isAuthentic(secrets: [Vectors.secret]), "\(hex(bytes))")
                    if case .success(let username) = outcome { #expect(username == token.username) }
                }
            }
        }
    }

    @Test("file providers: dir: layout, path-escaping usernames refused, authorized_keys options")
    func fileProviders() async throws {
        let dir = try TemporaryDirectory()
        _ = try dir.write("alice_id_rsa.pub", Self.key.publicKey.openSSHLine(comment: "alice") + "\n")
        let provider = DirectoryKeyStore(directory: dir.path)
        #expect(try await provider.keys(for: "alice") == .keys([UserKey(key: Self.key.publicKey)]))
        #expect(try await provider.keys(for: "bob") == .noSuchUser)
        for bad in ["../alice", "a/b", ".hidden", "a\u{0}b", "", String(repeating: "a", count: 65)] {
            guard case .refused = try await provider.keys(for: bad) else { Issue.record("\(bad) not refused"); continue }
        }
        // A key file with options (from=, …) is not a plain key line: refused, never the options ignored.
        _ = try dir.write("carol_id_rsa.pub", "from=\"10.0.0.0/8\" " + Self.key.publicKey.openSSHLine(comment: "carol") + "\n")
        guard case .refused = try await provider.keys(for: "carol") else { Issue.record("a key file with options was used"); return }

        let ed = try SSHPrivateKey(generating: .ed25519)
        let ca = try SSHPrivateKey(generating: .ed25519)
        _ = try dir.write("alice.keys", """
        # comment
        \(Self.key.publicKey.openSSHLine()) plain
        expiry-time="20000101" \(ed.publicKey.openSSHLine()) expired
        from="10.0.0.0/8" \(ed.publicKey.openSSHLine()) from-restricted
        cert-authority,principals="ops,deploy" \(ca.publicKey.openSSHLine()) ca
        this line is garbage
        """)
        let authorized = AuthorizedKeysFileProvider(pattern: dir.path + "/%u.keys")
        guard case .keys(let keys) = try await authorized.keys(for: "alice") else { Issue.record("no keys"); return }
        #expect(keys.count == 3)
        #expect(keys[1].expiresAt != nil)  // local time, as sshd reads it
        #expect(keys[2].isCertificateAuthority && keys[2].principals == ["ops", "deploy"])
        #expect(try await authorized.keys(for: "carol") == .noSuchUser)
        #expect(AuthorizedKeysFileProvider(pattern: "%h/.ssh/authorized_keys").path(for: "root") == "/root/.ssh/authorized_keys")
        #expect(AuthorizedKeysFileProvider(pattern: "/keys/%%/%u").path(for: "x") == "/keys/%/x")
        // The expired key cannot answer a challenge.
        let server = try makeServer(authorized)
        guard case .success(let challenge) = try await server.createChallenge(for: CRTAuthRequest(username: "alice", version: .v2), now: 1_800_000_000) else { return }
        #expect(challenge.fingerprint.count == 64)  // the RSA key and the CA; not the expired key
    }
}
