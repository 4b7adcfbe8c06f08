import AuthCore
import CRTAuth
import CRTAuthHummingbird
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import SSHKeys
import Synchronization
import Testing

/// A clock the test moves.
final class TestClock: Sendable {
    let seconds = Mutex<UInt64>(1_800_000_000)
    var now: UInt64 { self.seconds.withLock { $0 } }
    func advance(_ delta: UInt64) { self.seconds.withLock { $0 += delta } }
}

struct Fixture {
    static let serverName = "127.0.0.1"
    let rsa: SSHPrivateKey
    let ed: SSHPrivateKey
    let clock = TestClock()
    let server: AuthServerReference

    init(secret: String = "middleware-test-secret") throws {
        self.rsa = try SSHPrivateKey(generating: .rsa, rsaBits: 2048)
        self.ed = try SSHPrivateKey(generating: .ed25519)
        let provider = InMemoryKeyProvider(keys: ["alice": [self.rsa.publicKey, self.ed.publicKey]])
        self.server = AuthServerReference(try AuthServer(configuration: .init(serverName: Self.serverName, secrets: [SymmetricKey(data: Array(secret.utf8))]), keyProvider: provider))
    }

    func application() -> some ApplicationProtocol {
        let router = Router(context: CRTAuthRequestContext.self)
        let clock = self.clock
        router.add(middleware: CRTAuthMiddleware(server: self.server, configuration: .init(exemptPaths: ["/public", "/open/*"]), logger: Logger(label: "test"), clock: { clock.now }))
        router.get("/whoami") { _, context in
            let identity = try context.requireIdentity()
            return "\(identity.username) \(identity.scheme)"
        }
        router.get("/public") { _, context in context.identity == nil ? "anonymous" : "identified" }
        router.get("/open/page") { _, _ in "open" }
        return Application(router: router)
    }
}

func xchap(_ value: String) -> HTTPFields { [.xCHAP: value] }

/// A full handshake through HTTP; returns the token.
func handshake(_ client: some TestClientProtocol, user: String = "alice", version: CRTAuthVersion, signer: SSHPrivateKey, method: HTTPRequest.Method = .get) async throws -> String {
    let challenge = try await client.execute(uri: "/_auth", method: method, headers: xchap("request:" + CRTAuthRequest(username: user, version: version).encoded))
    #expect(challenge.status == .ok)
    let value = try #require(challenge.headers[.xCHAP])
    #expect(value.hasPrefix("challenge:"))
    let response = try await CRTAuthClientResponder.respond(to: String(value.dropFirst("challenge:".count)), serverName: Fixture.serverName, signers: [signer])
    let token = try await client.execute(uri: "/_auth", method: method, headers: xchap("response:" + response.encoded))
    #expect(token.status == .ok)
    let tokenValue = try #require(token.headers[.xCHAP])
    #expect(tokenValue.hasPrefix("token:"))
    return String(tokenValue.dropFirst("token:".count))
}

@Suite("CRTAuthMiddleware over real HTTP")
struct MiddlewareTests {
    @Test("handshakes by GET, HEAD and POST for v0, v1 and v2 give tokens that admit the request",
          arguments: [(CRTAuthVersion.v0, HTTPRequest.Method.head), (.v1, .get), (.v1, .post), (.v2, .get)])
    func handshakes(version: CRTAuthVersion, method: HTTPRequest.Method) async throws {
        let fixture = try Fixture()
        try await fixture.application().test(.live) { client in
            let token = try await handshake(client, version: version, signer: version == .v2 ? fixture.ed : fixture.rsa, method: method)
            let response = try await client.execute(uri: "/whoami", method: .get, headers: [.authorization: "chap:" + token])
            #expect(response.status == .ok && String(buffer: response.body) == "alice chap")
            // The scheme name is case-insensitive here (Python's is not: a recorded deviation).
            #expect(try await client.execute(uri: "/whoami", method: .get, headers: [.authorization: "CHAP:" + token]).status == .ok)
        }
    }

    @Test("401 with WWW-Authenticate: chap without a valid token; exempt paths pass")
    func unauthorized() async throws {
        let fixture = try Fixture()
        try await fixture.application().test(.live) { client in
            for headers: HTTPFields in [[:], [.authorization: "Basic YWxpY2U6cHc="], [.authorization: "chap:"], [.authorization: "chap:AXTO"], [.authorization: "chap"]] {
                let response = try await client.execute(uri: "/whoami", method: .get, headers: headers)
                #expect(response.status == .unauthorized && response.headers[.wwwAuthenticate] == "chap")
            }
            #expect(String(buffer: try await client.execute(uri: "/public", method: .get).body) == "anonymous")
            #expect(try await client.execute(uri: "/open/page", method: .get).status == .ok)
        }
    }

    @Test("a battery of bad requests: each a 4xx with a short reason, never a 5xx; afterwards a valid request succeeds")
    func badRequests() async throws {
        let fixture = try Fixture()
        let other = try Fixture(secret: "another-cluster-secret")
        try await fixture.application().test(.live) { client in
            var cases: [(String, HTTPRequest.Method, HTTPFields, HTTPResponse.Status)] = [
                ("no X-CHAP", .get, [:], .badRequest),
                ("no colon", .get, xchap("request"), .badRequest),
                ("unknown method", .get, xchap("bogus:abc"), .badRequest),
                ("empty request", .get, xchap("request:"), .badRequest),
                ("65-byte username", .get, xchap("request:" + String(repeating: "u", count: 65)), .badRequest),
                ("garbled response", .get, xchap("response:!!!not base64!!!"), .badRequest),
                ("empty response", .get, xchap("response:"), .badRequest),
                ("response of another type", .get, xchap("response:" + CRTAuthRequest(username: "alice").encoded), .badRequest),
                ("oversized header", .get, xchap("response:" + String(repeating: "A", count: 70_000)), .badRequest),
                ("PUT", .put, xchap("request:alice"), .methodNotAllowed),
            ]
            var two = xchap("request:alice")
            two.append(HTTPField(name: .xCHAP, value: "request:bob"))
            cases.append(("two X-CHAP headers", .get, two, .badRequest))
            for (name, method, headers, expected) in cases {
                let response = try await client.execute(uri: "/_auth", method: method, headers: headers)
                #expect(response.status == expected, "\(name)")
                #expect(response.body.readableBytes < 300, "\(name): a short reason")
            }

            // A response to a challenge made for another server name: refused.
            let forOther = try await client.execute(uri: "/_auth", method: .get, headers: xchap("request:" + CRTAuthRequest(username: "alice").encoded))
            #expect(forOther.status == .ok)
            // A challenge from another cluster (other secret): 403.
            let foreign = try await other.server.current.createChallenge(for: CRTAuthRequest(username: "alice"), now: fixture.clock.now)
            let foreignResponse = try await CRTAuthClientResponder.respond(to: try #require(foreign.value).encoded, serverName: Fixture.serverName, signers: [other.rsa])
            #expect(try await client.execute(uri: "/_auth", method: .get, headers: xchap("response:" + foreignResponse.encoded)).status == .forbidden)

            // An expired response (answered after the 20 s window), replayed later: 403.
            let challenge = try await client.execute(uri: "/_auth", method: .get, headers: xchap("request:" + CRTAuthRequest(username: "alice").encoded))
            let challengeText = String(try #require(challenge.headers[.xCHAP]).dropFirst("challenge:".count))
            let response = try await CRTAuthClientResponder.respond(to: challengeText, serverName: Fixture.serverName, signers: [fixture.rsa])
            fixture.clock.advance(AuthServer.responseTimeout + 1)
            #expect(try await client.execute(uri: "/_auth", method: .get, headers: xchap("response:" + response.encoded)).status == .forbidden)

            // A token made with another secret; an expired token; two Authorization headers.
            let foreignToken = other.server.current.issueToken(for: "alice", now: fixture.clock.now).encoded
            #expect(try await client.execute(uri: "/whoami", method: .get, headers: [.authorization: "chap:" + foreignToken]).status == .unauthorized)
            let token = try await handshake(client, version: .v1, signer: fixture.rsa)
            var twice: HTTPFields = [.authorization: "chap:" + token]
            twice.append(HTTPField(name: .authorization, value: "chap:" + token))
            #expect(try await client.execute(uri: "/whoami", method: .get, headers: twice).status == .badRequest)
            // A client cannot claim an identity with headers.
            let injected = try await client.execute(uri: "/public", method: .get, headers: [HTTPField.Name("X-Authenticated-User")!: "alice"])
            #expect(String(buffer: injected.body) == "anonymous")

            // Still serving: a valid request succeeds.
            #expect(try await client.execute(uri: "/whoami", method: .get, headers: [.authorization: "chap:" + token]).status == .ok)
            fixture.clock.advance(AuthServer.defaultTokenLifetime + 1)
            #expect(try await client.execute(uri: "/whoami", method: .get, headers: [.authorization: "chap:" + token]).status == .unauthorized)
        }
    }

    @Test("unknown users and unregistered keys are refused alike (403), never a 5xx")
    func refusals() async throws {
        let fixture = try Fixture()
        let stranger = try SSHPrivateKey(generating: .rsa, rsaBits: 2048)
        try await fixture.application().test(.live) { client in
            for (user, version) in [("mallory", CRTAuthVersion.v1), ("mallory", .v2), ("alice", .v1)] {
                let challenge = try await client.execute(uri: "/_auth", method: .get, headers: xchap("request:" + CRTAuthRequest(username: user, version: version).encoded))
                #expect(challenge.status == .ok)
                let text = String(try #require(challenge.headers[.xCHAP]).dropFirst("challenge:".count))
                // Sign with a key the server does not know for this user, whatever the challenge names.
                let parsed = try CRTAuthChallenge(decoding: text)
                let signature: [UInt8]
                if version == .v2 {
                    signature = try await SSHSig.sign(parsed.bytes, namespace: CRTAuthV2.namespace(serverName: Fixture.serverName), with: try SSHPrivateKey(generating: .ed25519)).wireBlob
                } else {
                    signature = try stranger.signature(for: Array(parsed.signedBytes), algorithm: .insecureRSASHA1).rawSignature
                }
                let response = CRTAuthResponse(version: version, challengeBytes: parsed.bytes, signature: signature)
                #expect(try await client.execute(uri: "/_auth", method: .get, headers: xchap("response:" + response.encoded)).status == .forbidden)
            }
        }
    }
}

extension AuthenticationOutcome {
    var value: Success? { if case .success(let value) = self { value } else { nil } }
}
