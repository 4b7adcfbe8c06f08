import AuthCore
import CRTAuth
import CRTAuthJWT
import CRTAuthSQLite
import Crypto
import Foundation
import SSHKeys
import Testing

@Suite("asymmetric_jwt_auth JWTs")
struct AsymmetricJWTTests {
    /// RFC 8037 appendix A's Ed25519 key, the one asymmetric_jwt_auth's vector was made with.
    static let rfc8037 = SSHPrivateKey(try! Curve25519.Signing.PrivateKey(rawRepresentation: [
        0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c, 0xc4,
        0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60,
    ]))
    static let rsa = try! SSHPrivateKey(generating: .rsa, rsaBits: 2048)
    static let p256 = SSHPrivateKey(P256.Signing.PrivateKey())
    static let p384 = SSHPrivateKey(P384.Signing.PrivateKey())
    static let mallory = SSHPrivateKey(Curve25519.Signing.PrivateKey())
    static let now: UInt64 = 1_700_000_000

    static let keys = InMemoryKeyProvider(keys: [
        "alice": [rfc8037.publicKey, rsa.publicKey, p256.publicKey, p384.publicKey],
        "mallory": [mallory.publicKey],
    ])

    static func vector() throws -> String {
        let url = try #require(Bundle.module.url(forResource: "ed25519_alice_1700000000", withExtension: "txt", subdirectory: "Vectors"))
        let line = try String(contentsOf: url, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        return String(try #require(AsymmetricJWT.Verifier.token(inAuthorization: Substring(line))))
    }

    func verify(_ token: String, now: UInt64 = AsymmetricJWTTests.now, nonces: any NonceStore = InMemoryNonceStore()) async throws -> AuthenticationOutcome<AuthenticatedIdentity> {
        try await AsymmetricJWT.Verifier().verify(token: token, now: now, keys: Self.keys, nonces: nonces)
    }

    func reason(_ token: String, now: UInt64 = AsymmetricJWTTests.now) async throws -> AuthenticationFailure.Reason? {
        if case .failure(let failure) = try await self.verify(token, now: now) { return failure.reason }
        return nil
    }

    /// A token with the given header and claims JSON, signed by `key` with `algorithm`.
    static func forge(header: String, claims: String, key: SSHPrivateKey = rfc8037, algorithm: RawSignatureAlgorithm = .ed25519) throws -> String {
        let input = Base64URL.encode(Array(header.utf8)) + "." + Base64URL.encode(Array(claims.utf8))
        return input + "." + Base64URL.encode(try key.rawSignature(for: Array(input.utf8), algorithm: algorithm))
    }

    static let claims = #"{"username":"alice","time":1700000000,"nonce":"abc"}"#

    @Test("asymmetric_jwt_auth's vector: ours is the same token byte for byte, and it verifies")
    func vector() async throws {
        let vector = try Self.vector()
        let ours = try await AsymmetricJWT.token(username: "alice", signer: Self.rfc8037, time: 1_700_000_000, nonce: "bm9uY2UtMDE")
        #expect(ours == vector)
        #expect(Self.rfc8037.publicKey.asymmetricJWTKeyID == "7f2d9ed0b71b8e5a6c5cf30e647d6e20b5bca6dac8071f11abe3fef8014db610")
        guard case .success(let identity) = try await self.verify(vector, now: 1_700_000_019) else { Issue.record("refused"); return }
        #expect(identity.username == "alice" && identity.key == Self.rfc8037.publicKey && identity.scheme == .jwt)
    }

    @Test("claims escaped as Python's json.dumps does: non-ASCII as \\u escapes, surrogate pairs, quotes")
    func escaping() async throws {
        let token = try await AsymmetricJWT.token(username: "zo\u{EB}\u{2603}\u{1D11E}\"\\\u{7F}", signer: Self.rfc8037, time: 1, nonce: "n")
        let claims = String(decoding: Base64URL.decode(String(token.split(separator: ".")[1]))!, as: UTF8.self)
        #expect(claims == #"{"username":"zo\u00eb\u2603\ud834\udd1e\"\\\u007f","time":1,"nonce":"n"}"#)
        // And our parser reads it back.
        #expect(try AsymmetricJWT.UnverifiedToken(token).username == "zo\u{EB}\u{2603}\u{1D11E}\"\\\u{7F}")
    }

    @Test("every key type and algorithm: EdDSA (and Ed25519), RS256/384/512, ES256, ES384")
    func algorithms() async throws {
        for (key, names) in [(Self.rfc8037, ["EdDSA", "Ed25519"]), (Self.rsa, ["RS256", "RS384", "RS512"]), (Self.p256, ["ES256"]), (Self.p384, ["ES384"])] {
            for name in names {
                let algorithm = try #require(AsymmetricJWT.Algorithm(rawValue: name))
                let token = try Self.forge(header: #"{"alg":"\#(name)"}"#, claims: Self.claims, key: key, algorithm: algorithm.signatureAlgorithm)
                #expect(try await self.reason(token) == nil, "\(name)")
            }
        }
        // Made by the client for each key type.
        for key in [Self.rfc8037, Self.rsa, Self.p256, Self.p384] {
            let token = try await AsymmetricJWT.token(username: "alice", signer: key, time: Self.now)
            #expect(try await self.reason(token) == nil)
        }
    }

    @Test("refused: alg none, HS256 keyed with the public key, an alg that does not fit the key, crit")
    func algorithmConfusion() async throws {
        let header = Base64URL.encode(Array(#"{"alg":"none"}"#.utf8)) + "." + Base64URL.encode(Array(Self.claims.utf8))
        await #expect(throws: JWTError(.unsupported, "")) { try await self.verify(header + ".") }
        await #expect(throws: JWTError(.unsupported, "")) { try await self.verify(header + ".AA") }
        // HS256 with the PEM text of alice's public key as the HMAC key (the classic confusion).
        let hsInput = Base64URL.encode(Array(#"{"alg":"HS256"}"#.utf8)) + "." + Base64URL.encode(Array(Self.claims.utf8))
        let mac = HMAC<SHA256>.authenticationCode(for: Array(hsInput.utf8), using: SymmetricKey(data: Array(try Self.rfc8037.publicKey.spkiPEM.utf8)))
        await #expect(throws: JWTError(.unsupported, "")) { try await self.verify(hsInput + "." + Base64URL.encode(Array(mac))) }
        // RS256 claimed over an Ed25519 signature: no RSA key verifies it.
        let confused = try Self.forge(header: #"{"alg":"RS256"}"#, claims: Self.claims)
        #expect(try await self.reason(confused) == .badSignature)
        let critical = try Self.forge(header: #"{"alg":"EdDSA","crit":["exp"]}"#, claims: Self.claims)
        await #expect(throws: JWTError(.unsupported, "")) { try await self.verify(critical) }
    }

    @Test("refused: a kid of another user's key, another user's signature, unknown users, a tampered claim")
    func wrongKeys() async throws {
        let malloryKid = try #require(Self.mallory.publicKey.asymmetricJWTKeyID)
        let token = try Self.forge(header: #"{"alg":"EdDSA","kid":"\#(malloryKid)"}"#, claims: Self.claims, key: Self.mallory)
        #expect(try await self.reason(token) == .badSignature)
        let stranger = try Self.forge(header: #"{"alg":"EdDSA"}"#, claims: #"{"username":"nobody","time":1700000000,"nonce":"x"}"#)
        #expect(try await self.reason(stranger) == .unknownUser)
        let good = try await AsymmetricJWT.token(username: "alice", signer: Self.rfc8037, time: Self.now)
        let parts = good.split(separator: ".")
        let tampered = parts[0] + "." + Base64URL.encode(Array(#"{"username":"mallory","time":1700000000,"nonce":"x"}"#.utf8)) + "." + parts[2]
        #expect(try await self.reason(String(tampered)) == .badSignature)
    }

    @Test("time: ±20 s, integers only; exp, nbf and iat honoured; any aud refused")
    func times() async throws {
        let token = try await AsymmetricJWT.token(username: "alice", signer: Self.rfc8037, time: Self.now)
        #expect(try await self.reason(token, now: Self.now + 20) == nil)
        #expect(try await self.reason(token, now: Self.now - 20) == nil)
        #expect(try await self.reason(token, now: Self.now + 21) == .expired)
        #expect(try await self.reason(token, now: Self.now - 21) == .notYetValid)
        let farFuture = try Self.forge(header: #"{"alg":"EdDSA"}"#, claims: #"{"username":"alice","time":9223372036854775807,"nonce":"x"}"#)
        #expect(try await self.reason(farFuture) == .notYetValid)
        for claims in [
            #"{"username":"alice","time":"1700000000","nonce":"x"}"#,
            #"{"username":"alice","time":1700000000.0,"nonce":"x"}"#,
            #"{"username":"alice","time":1.7e9,"nonce":"x"}"#,
            #"{"username":"alice","time":-1,"nonce":"x"}"#,
            #"{"username":"alice","time":99999999999999999999999,"nonce":"x"}"#,
            #"{"username":"alice","nonce":"x"}"#,
            #"{"username":"alice","time":1700000000,"nonce":0.5}"#,
            #"{"username":"alice","time":1700000000,"nonce":""}"#,
            #"{"username":"","time":1700000000,"nonce":"x"}"#,
            #"{"username":["alice"],"time":1700000000,"nonce":"x"}"#,
            #"{"username":"alice","time":1700000000,"nonce":"x","aud":"api"}"#,
            #"{"username":"alice","time":1700000000,"nonce":"x","exp":"soon"}"#,
            #"{"username":"alice","time":1700000000,"nonce":"x","username":"bob"}"#,
            #"[]"#, #""alice""#, #"{"username":"alice","time":1700000000,"nonce":"x"} x"#,
        ] {
            let forged = try Self.forge(header: #"{"alg":"EdDSA"}"#, claims: claims)
            await #expect(throws: JWTError.self, "\(claims)") { try await self.verify(forged) }
        }
        let expired = try Self.forge(header: #"{"alg":"EdDSA"}"#, claims: #"{"username":"alice","time":1700000000,"nonce":"x","exp":1700000000}"#)
        #expect(try await self.reason(expired) == .expired)
        let valid = try Self.forge(header: #"{"alg":"EdDSA"}"#, claims: #"{"username":"alice","time":1700000000,"nonce":"x","exp":1700000060,"iat":1700000000,"jti":"j","sub":"s"}"#)
        #expect(try await self.reason(valid) == nil)
        let immature = try Self.forge(header: #"{"alg":"EdDSA"}"#, claims: #"{"username":"alice","time":1700000000,"nonce":"x","nbf":1700000005}"#)
        #expect(try await self.reason(immature) == .notYetValid)
    }

    @Test("replays: the same (user, time, nonce) once, also when copies race, also after a restart with SQLite")
    func replays() async throws {
        let nonces = InMemoryNonceStore()
        let token = try await AsymmetricJWT.token(username: "alice", signer: Self.rfc8037, time: Self.now)
        let accepted = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<16 {
                group.addTask {
                    guard case .success = try? await self.verify(token, nonces: nonces) else { return false }
                    return true
                }
            }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(accepted == 1)
        // A fresh nonce in the same second passes.
        #expect(try await self.reason(try await AsymmetricJWT.token(username: "alice", signer: Self.rfc8037, time: Self.now)) == nil)

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("jwt-nonces-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("store.sqlite").path
        if case .failure(let failure) = try await self.verify(token, nonces: try SQLiteNonceStore(path: path)) { Issue.record("refused: \(failure)") }
        guard case .failure(let failure) = try await self.verify(token, nonces: try SQLiteNonceStore(path: path)) else {
            Issue.record("a replay after a restart passed"); return
        }
        #expect(failure.reason == .replayed)
    }

    @Test("malformed input: every prefix, oversize, trailing parts, bad base64, padding, mutations — typed errors, never a trap")
    func malformed() async throws {
        let token = try await AsymmetricJWT.token(username: "alice", signer: Self.rsa, time: Self.now)
        for end in 0..<token.count {
            let prefix = String(token.prefix(end))
            do {
                if case .success = try await self.verify(prefix) { Issue.record("a prefix of \(end) characters passed") }
            } catch is JWTError {}
        }
        await #expect(throws: JWTError(.tooLarge, "")) { try await self.verify(String(repeating: "A", count: 16 * 1024)) }
        await #expect(throws: JWTError(.malformed, "")) { try await self.verify(token + ".AAAA") }
        await #expect(throws: JWTError(.malformed, "")) { try await self.verify(token + "==") }
        await #expect(throws: JWTError(.malformed, "")) { try await self.verify("a.b!.c") }
        var generator = SystemRandomNumberGenerator()
        let bytes = Array(token.utf8)
        for _ in 0..<300 {
            var mutated = bytes
            mutated[Int.random(in: 0..<mutated.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
            // Any outcome or a JWTError; nothing else, and never a trap.
            do { _ = try await self.verify(String(decoding: mutated, as: UTF8.self)) } catch is JWTError {}
        }
    }

    @Test("the Authorization scheme is matched case-insensitively; other schemes are not ours")
    func scheme() {
        #expect(AsymmetricJWT.Verifier.token(inAuthorization: "JWT a.b.c") == "a.b.c")
        #expect(AsymmetricJWT.Verifier.token(inAuthorization: "jwt a.b.c") == "a.b.c")
        #expect(AsymmetricJWT.Verifier.token(inAuthorization: "Bearer a.b.c") == nil)
        #expect(AsymmetricJWT.Verifier.token(inAuthorization: "JWTa.b.c") == nil)
    }
}

@Suite("JWKS documents")
struct JSONWebKeySetTests {
    @Test("publishing every key type, reading it back: the same keys under asymmetric_jwt_auth's kids")
    func roundTrip() throws {
        let keys = [
            SSHPrivateKey(Curve25519.Signing.PrivateKey()).publicKey, AsymmetricJWTTests.rsa.publicKey,
            AsymmetricJWTTests.p256.publicKey, AsymmetricJWTTests.p384.publicKey,
        ]
        let document = JSONWebKeySet.document(publishing: keys)
        #expect(document.contains(#""kty":"OKP""#) && document.contains(#""alg":"EdDSA""#) && document.contains(#""use":"sig""#))
        let set = try JSONWebKeySet(json: Array(document.utf8))
        #expect(set.keys.map(\.key) == keys)
        #expect(set.keys.map(\.id) == keys.map { $0.asymmetricJWTKeyID! })
    }

    @Test("entries asymmetric_jwt_auth would skip are skipped: use enc, no kid, unknown types, bad members")
    func filtering() throws {
        let key = AsymmetricJWTTests.rfc8037.publicKey
        let good = #"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":"a"}"#
        let document = """
            {"keys":[
              {"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":"enc","use":"enc"},
              {"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
              {"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":""},
              {"kty":"oct","k":"c2VjcmV0","kid":"hmac"},
              {"kty":"OKP","crv":"Ed25519","x":"not base64!","kid":"broken"},
              {"kty":"RSA","n":"AQAB","e":"AQAB","kid":"tiny-rsa"},
              42, "text",
              \(good)
            ]}
            """
        let set = try JSONWebKeySet(json: Array(document.utf8))
        #expect(set.keys.map(\.id) == ["a"] && set.key(id: "a") == key)
        for bad in ["", "[]", #"{"keys":{}}"#, "{", #"{"nokeys":[]}"#] {
            #expect(throws: JWTError.self) { try JSONWebKeySet(json: Array(bad.utf8)) }
        }
        #expect(throws: JWTError(.tooLarge, "")) { try JSONWebKeySet(json: [UInt8](repeating: 0x20, count: (1 << 20) + 1)) }
    }

    @Test("a user without keys of their own, trusting a JWKS: the kid's key verifies; another kid or key does not")
    func verifierWithJWKS() async throws {
        let remote = SSHPrivateKey(Curve25519.Signing.PrivateKey())
        let set = JSONWebKeySet(keys: [(remote.publicKey.asymmetricJWTKeyID!, remote.publicKey)])
        let keys = InMemoryKeyProvider(users: ["carol": []])
        let lookup: AsymmetricJWT.Verifier.JWKSKeyLookup = { user, kid in user == "carol" ? set.key(id: kid) : nil }
        func reason(_ token: String) async throws -> AuthenticationFailure.Reason? {
            let outcome = try await AsymmetricJWT.Verifier().verify(token: token, now: AsymmetricJWTTests.now, keys: keys, nonces: InMemoryNonceStore(), jwks: lookup)
            if case .failure(let failure) = outcome { return failure.reason }
            return nil
        }
        #expect(try await reason(try await AsymmetricJWT.token(username: "carol", signer: remote, time: AsymmetricJWTTests.now)) == nil)
        let stranger = SSHPrivateKey(Curve25519.Signing.PrivateKey())
        #expect(try await reason(try await AsymmetricJWT.token(username: "carol", signer: stranger, time: AsymmetricJWTTests.now)) == .badSignature)
        // The trusted kid on a token signed by another key.
        let forged = try AsymmetricJWTTests.forge(header: #"{"alg":"EdDSA","kid":"\#(remote.publicKey.asymmetricJWTKeyID!)"}"#, claims: #"{"username":"carol","time":1700000000,"nonce":"x"}"#, key: stranger)
        #expect(try await reason(forged) == .badSignature)
        // Without a lookup, a keyless user is refused.
        let outcome = try await AsymmetricJWT.Verifier().verify(token: try await AsymmetricJWT.token(username: "carol", signer: remote, time: AsymmetricJWTTests.now), now: AsymmetricJWTTests.now, keys: keys, nonces: InMemoryNonceStore())
        guard case .failure(let failure) = outcome else { Issue.record("accepted without a JWKS"); return }
        #expect(failure.reason == .refused)
    }
}
