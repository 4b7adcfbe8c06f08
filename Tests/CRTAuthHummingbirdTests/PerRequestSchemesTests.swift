import AuthCore
import CRTAuth
import CRTAuthHummingbird
import CRTAuthJWT
import CRTAuthSignatures
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import SSHKeys
import Testing

@Suite("the per-request schemes through CRTAuthMiddleware over real HTTP")
struct PerRequestSchemesTests {
    static let alice = SSHPrivateKey(Curve25519.Signing.PrivateKey())
    static let bob = SSHPrivateKey(Curve25519.Signing.PrivateKey())

    static func application(clock: TestClock, schemes: Set<AuthenticationScheme> = [.chap, .jwt, .signature, .serveradmin], keys: any KeyProvider = InMemoryKeyProvider(keys: ["alice": [alice.publicKey], "bob": [bob.publicKey]])) throws -> some ApplicationProtocol {
        let server = AuthServerReference(try AuthServer(configuration: .init(serverName: "127.0.0.1", secrets: [SymmetricKey(size: .bits256)]), keyProvider: keys))
        let router = Router(context: CRTAuthRequestContext.self)
        router.add(middleware: CRTAuthMiddleware(
            server: server, configuration: .init(schemes: schemes, maximumSignedBodyLength: 1024),
            perRequest: PerRequestSchemes(keys: keys, nonces: InMemoryNonceStore()), logger: Logger(label: "test"), clock: { clock.now }))
        let whoami: @Sendable (Request, CRTAuthRequestContext) async throws -> String = { _, context in
            let identity = try context.requireIdentity()
            return "\(identity.username) \(identity.scheme)"
        }
        router.get("/api/items", use: whoami)
        router.post("/api/items", use: whoami)
        return Application(router: router)
    }

    static func fields(_ pairs: [(name: String, value: String)]) -> HTTPFields {
        var fields = HTTPFields()
        for (name, value) in pairs { fields.append(HTTPField(name: HTTPField.Name(name)!, value: value)) }
        return fields
    }

    @Test("each scheme admits a good request with the same identity shape; a 401 lists the enabled schemes")
    func admits() async throws {
        let clock = TestClock()
        try await Self.application(clock: clock).test(.live) { client in
            let jwt = try await AsymmetricJWT.authorization(username: "alice", signer: Self.alice, time: clock.now)
            let answer = try await client.execute(uri: "/api/items", method: .get, headers: [.authorization: jwt])
            #expect(answer.status == .ok && String(buffer: answer.body) == "alice jwt")

            let message = HTTPMessageSignatures.Message(method: "POST", scheme: "http", authority: "localhost", path: "/api/items", query: nil, fields: [])
            let body = ByteBuffer(string: #"{"name": "x"}"#)
            let signed = try await HTTPMessageSignatures.sign(message, body: Array(body.readableBytesView), signer: Self.alice, created: clock.now)
            let signature = try await client.execute(uri: "/api/items", method: .post, headers: Self.fields(signed), body: body)
            #expect(signature.status == .ok && String(buffer: signature.body) == "alice signature")

            let serveradmin = try await ServeradminSignatures.headers(timestamp: clock.now, body: Array(body.readableBytesView), signers: [Self.bob])
            let admin = try await client.execute(uri: "/api/items", method: .post, headers: Self.fields(serveradmin), body: body)
            #expect(admin.status == .ok && String(buffer: admin.body) == "bob serveradmin")

            let anonymous = try await client.execute(uri: "/api/items", method: .get)
            #expect(anonymous.status == .unauthorized)
            #expect(anonymous.headers[values: .wwwAuthenticate] == ["chap", "JWT"])
            #expect(anonymous.headers[.acceptSignature] == HTTPMessageSignatures.acceptSignature)
        }
    }

    @Test("bad credentials of every scheme: 400, 401, 403 or 413 — never a 5xx")
    func badCredentials() async throws {
        let clock = TestClock()
        try await Self.application(clock: clock).test(.live) { client in
            let now = clock.now
            func forge(_ header: String, _ claims: String, key: SSHPrivateKey = Self.alice) throws -> String {
                let input = Base64URL.encode(Array(header.utf8)) + "." + Base64URL.encode(Array(claims.utf8))
                return "JWT " + input + "." + Base64URL.encode(try key.rawSignature(for: Array(input.utf8), algorithm: .ed25519))
            }
            let claims = #"{"username":"alice","time":\#(now),"nonce":"n"}"#
            let good = try await AsymmetricJWT.authorization(username: "alice", signer: Self.alice, time: now)
            var cases: [(String, HTTPRequest.Method, [(name: String, value: String)], String?, Set<Int>)] = [
                ("alg none", .get, [("Authorization", "JWT " + Base64URL.encode(Array(#"{"alg":"none"}"#.utf8)) + "." + Base64URL.encode(Array(claims.utf8)) + ".")], nil, [400]),
                ("HS256", .get, [("Authorization", "JWT " + Base64URL.encode(Array(#"{"alg":"HS256"}"#.utf8)) + "." + Base64URL.encode(Array(claims.utf8)) + ".AAAA")], nil, [400]),
                ("kid of bob's key", .get, [("Authorization", try forge(#"{"alg":"EdDSA","kid":"\#(Self.bob.publicKey.asymmetricJWTKeyID!)"}"#, claims, key: Self.bob))], nil, [401]),
                ("time as a string", .get, [("Authorization", try forge(#"{"alg":"EdDSA"}"#, #"{"username":"alice","time":"\#(now)","nonce":"n"}"#))], nil, [400]),
                ("time as a float", .get, [("Authorization", try forge(#"{"alg":"EdDSA"}"#, #"{"username":"alice","time":\#(now).5,"nonce":"n"}"#))], nil, [400]),
                ("time far ahead", .get, [("Authorization", try forge(#"{"alg":"EdDSA"}"#, #"{"username":"alice","time":\#(now + 86400),"nonce":"n"}"#))], nil, [401]),
                ("an aud claim", .get, [("Authorization", try forge(#"{"alg":"EdDSA"}"#, #"{"username":"alice","time":\#(now),"nonce":"n","aud":"x"}"#))], nil, [400]),
                ("16 KiB token", .get, [("Authorization", "JWT " + String(repeating: "A", count: 16 * 1024))], nil, [400]),
                ("good JWT", .get, [("Authorization", good)], nil, [200]),
                ("replayed JWT", .get, [("Authorization", good)], nil, [401]),
                ("two Authorization headers", .get, [("Authorization", good), ("Authorization", good)], nil, [400]),
                ("unknown scheme", .get, [("Authorization", "Bearer abc")], nil, [401]),
                ("serveradmin, signature of another body", .post, try await ServeradminSignatures.headers(timestamp: now, body: Array("a".utf8), signers: [Self.bob]), "b", [403]),
                ("serveradmin, garbage", .get, [("X-Timestamp", "soon"), ("X-PublicKeys", "!"), ("X-Signatures", "!")], nil, [400]),
                ("serveradmin, body too large", .post, try await ServeradminSignatures.headers(timestamp: now, body: [UInt8](repeating: 0x61, count: 2048), signers: [Self.bob]), String(repeating: "a", count: 2048), [413]),
                ("Signature-Input without Signature", .get, [("Signature-Input", #"sig1=("@method");created=1"#)], nil, [400]),
            ]
            let message = HTTPMessageSignatures.Message(method: "GET", scheme: "http", authority: "localhost", path: "/api/items", query: nil, fields: [])
            let signed = try await HTTPMessageSignatures.sign(message, body: [UInt8](), signer: Self.alice, created: now)
            let input = signed[0].value, signature = signed[1].value
            cases += [
                ("label twice", .get, [("Signature-Input", input + ", " + input), ("Signature", signature)], nil, [400]),
                ("label missing", .get, [("Signature-Input", input.replacingOccurrences(of: "sig1=", with: "sig9=")), ("Signature", signature)], nil, [400]),
                ("a required component left out", .get, [("Signature-Input", input.replacingOccurrences(of: #""@method" "#, with: "")), ("Signature", signature)], nil, [401]),
                ("wrong content-digest", .post, [("Content-Digest", "sha-256=:" + Data(SHA256.hash(data: [1])).base64EncodedString() + ":")] + signed, "x", [401]),
            ]
            for (name, method, headers, body, expected) in cases {
                let response = try await client.execute(uri: "/api/items", method: method, headers: Self.fields(headers), body: body.map { ByteBuffer(string: $0) })
                #expect(expected.contains(Int(response.status.code)), "\(name): \(response.status.code) \(String(buffer: response.body))")
                #expect(response.status.code < 500, "\(name)")
            }
            // A signature over one path replayed against another: refused.
            let other = try await client.execute(uri: "/api/items?admin=1", method: .get, headers: Self.fields(signed))
            #expect(other.status == .unauthorized)
        }
    }

    @Test("schemes switched off are not accepted; signature and serveradmin need a store that finds keys by fingerprint")
    func switchedOff() async throws {
        let clock = TestClock()
        try await Self.application(clock: clock, schemes: [.chap]).test(.live) { client in
            let jwt = try await AsymmetricJWT.authorization(username: "alice", signer: Self.alice, time: clock.now)
            #expect(try await client.execute(uri: "/api/items", method: .get, headers: [.authorization: jwt]).status == .unauthorized)
            let admin = try await ServeradminSignatures.headers(timestamp: clock.now, body: [UInt8](), signers: [Self.bob])
            #expect(try await client.execute(uri: "/api/items", method: .get, headers: Self.fields(admin)).status == .unauthorized)
        }
        let directory = DirectoryKeyStore(directory: "/nonexistent")
        try await Self.application(clock: clock, keys: directory).test(.live) { client in
            let admin = try await ServeradminSignatures.headers(timestamp: clock.now, body: [UInt8](), signers: [Self.bob])
            let response = try await client.execute(uri: "/api/items", method: .get, headers: Self.fields(admin))
            #expect(response.status == .unauthorized && response.headers[.acceptSignature] == nil)
        }
    }
}
