import AuthCore
import CRTAuth
import CRTAuthJWT
import CRTAuthSignatures
import Crypto
import SSHKeys
import Testing

/// Every scheme through the one framework-neutral shape: a `RequestView` in, nil ("not mine")
/// or an outcome out.
@Suite("RequestAuthenticator: chap token, JWT, RFC 9421 and serveradmin over a RequestView")
struct RequestAuthenticatorTests {
    static let alice = SSHPrivateKey(Curve25519.Signing.PrivateKey())
    static let now: UInt64 = 1_700_000_000
    static let keys = InMemoryKeyProvider(keys: ["alice": [alice.publicKey]])

    static func view(_ fields: [(name: String, value: String)], method: String = "POST", body: [UInt8] = Array("{}".utf8)) -> RequestView {
        RequestView(method: method, scheme: "https", authority: "api.example.com", path: "/items", query: "page=2", fields: fields, body: { body })
    }

    static func user(_ outcome: AuthenticationOutcome<AuthenticatedIdentity>?) -> String? {
        if case .success(let identity)? = outcome { return "\(identity.username) \(identity.scheme)" }
        return nil
    }

    @Test("each authenticator admits its own credential, passes on others (nil), and refuses a bad one")
    func everyScheme() async throws {
        let server = try AuthServer(configuration: .init(serverName: "api.example.com", secrets: [SymmetricKey(size: .bits256)]), keyProvider: Self.keys)
        let nonces = InMemoryNonceStore()
        let chap = ChapTokenAuthenticator(server: { server })
        let jwt = JWTAuthenticator(keys: Self.keys, nonces: nonces)
        let signature = HTTPSignatureAuthenticator(keys: Self.keys, nonces: nonces)
        let serveradmin = ServeradminAuthenticator(keys: Self.keys, nonces: nonces)
        let all: [any RequestAuthenticator] = [chap, jwt, signature, serveradmin]

        let token = server.issueToken(for: "alice", now: Self.now).encoded
        let jwtValue = try await AsymmetricJWT.authorization(username: "alice", signer: Self.alice, time: Self.now)
        let body = Array("{}".utf8)
        let message = HTTPMessageSignatures.Message(method: "POST", scheme: "https", authority: "api.example.com", path: "/items", query: "page=2", fields: [])
        let signed = try await HTTPMessageSignatures.sign(message, body: body, signer: Self.alice, created: Self.now)
        let serveradminFields = try await ServeradminSignatures.headers(timestamp: Self.now, body: body, signers: [Self.alice])
        let credentials: [(IdentityScheme, [(name: String, value: String)])] = [
            (.chap, [("Authorization", "chap:" + token)]),
            (.jwt, [("Authorization", jwtValue)]),
            (.signature, signed),
            (.serveradmin, serveradminFields),
        ]
        for (scheme, fields) in credentials {
            for authenticator in all {
                let outcome = try await authenticator.authenticate(Self.view(fields), now: Self.now)
                if authenticator.scheme == scheme {
                    #expect(Self.user(outcome) == "alice \(scheme)", "\(scheme)")
                } else {
                    #expect(outcome == nil, "\(authenticator.scheme) took a \(scheme) credential")
                }
            }
        }
        // Refusals: a token that does not parse, a replayed JWT, a changed body.
        guard case .failure(let failure)? = try await chap.authenticate(Self.view([("Authorization", "chap:AXTObad")]), now: Self.now) else {
            Issue.record("a bad token was not refused")
            return
        }
        #expect(failure.reason == .malformed)
        guard case .failure(let replay)? = try await jwt.authenticate(Self.view([("Authorization", jwtValue)]), now: Self.now) else {
            Issue.record("a replayed JWT was not refused")
            return
        }
        #expect(replay.reason == .replayed)
        let changed = try await signature.authenticate(Self.view(signed, body: Array("{\"x\":1}".utf8)), now: Self.now)
        #expect(Self.user(changed) == nil)
        await #expect(throws: CRTAuthError.self) {
            try await chap.authenticate(Self.view([("Authorization", "chap:" + token), ("Authorization", "chap:" + token)]), now: Self.now)
        }
    }
}
