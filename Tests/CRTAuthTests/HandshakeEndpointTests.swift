import AuthCore
import CRTAuth
import SSHKeys
import Testing

/// The framework-neutral `/_auth` endpoint every middleware delegates to.
@Suite("HandshakeEndpoint: X-CHAP values in, the answer out")
struct HandshakeEndpointTests {
    struct FailingStore: KeyProvider {
        func keys(for username: String) async throws -> KeyLookup { throw AuthCoreError(.keyProvider, "the database is down") }
    }

    static let now: UInt64 = 1_800_000_000

    @Test("request → challenge, response → token with the identity; bad values are 400s; a failing store is a 503")
    func answers() async throws {
        let key = try SSHPrivateKey(generating: .ed25519)
        let server = try makeServer(InMemoryKeyProvider(keys: ["alice": [key.publicKey]]))
        let request = "request:" + CRTAuthRequest(username: "alice", version: .v2).encoded
        let (stage, challengeAnswer) = await HandshakeEndpoint.answer(xCHAP: [request], server: server, now: Self.now)
        guard stage == .challenge, case .exchange(let challengeValue, nil) = challengeAnswer, challengeValue.hasPrefix("challenge:") else {
            Issue.record("no challenge: \(challengeAnswer)")
            return
        }
        let response = try await CRTAuthClientResponder.respond(to: String(challengeValue.dropFirst("challenge:".count)), serverName: "api.example.com", signers: [key])
        let (tokenStage, tokenAnswer) = await HandshakeEndpoint.answer(xCHAP: [" response : " + response.encoded], server: server, now: Self.now + 1)
        guard tokenStage == .token, case .exchange(let tokenValue, let identity?) = tokenAnswer else {
            Issue.record("no token: \(tokenAnswer)")
            return
        }
        #expect(tokenValue.hasPrefix("token:") && identity.username == "alice" && identity.scheme == .handshake(.v2))
        // The same response again (another server time, a forged one): refused, audited.
        guard case .refused(_, let scheme) = await HandshakeEndpoint.answer(xCHAP: ["response:" + response.encoded], server: server, now: Self.now + 600).answer else {
            Issue.record("an expired response was not refused")
            return
        }
        #expect(scheme == .handshakeOfUnknownVersion)

        for (values, reason) in [([], "missing"), ([request, request], "more than one"), (["request"], "method:payload"),
                                 (["hello:x"], "unknown X-CHAP method"), ([String(repeating: "a", count: ChapAuthorization.maximumLength + 1)], "too long")] {
            guard case .malformed(let text, nil) = await HandshakeEndpoint.answer(xCHAP: values, server: server, now: Self.now).answer else {
                Issue.record("\(values.map { $0.prefix(20) }) not malformed")
                continue
            }
            #expect(text.contains(reason), "\(text)")
        }
        guard case .malformed(_, let audit?) = await HandshakeEndpoint.answer(xCHAP: ["response:!!!"], server: server, now: Self.now).answer else {
            Issue.record("a garbage response was not malformed")
            return
        }
        #expect(audit == "malformed-response")

        let down = try makeServer(FailingStore())
        guard case .unavailable(let detail) = await HandshakeEndpoint.answer(xCHAP: [request], server: down, now: Self.now).answer else {
            Issue.record("a failing store was not a 503")
            return
        }
        #expect(detail.contains("database is down"))
    }
}
