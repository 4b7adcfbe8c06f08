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

    /// A store that answers at once, as SQLite does, or fails at once.
    struct ImmediateStore: KeyProvider {
        let keys: InMemoryKeyProvider?
        func keys(for username: String) async throws -> KeyLookup { try self.lookup(username) }
        func keysWithoutWaiting(for username: String) throws -> KeyLookup? { try self.lookup(username) }
        private func lookup(_ username: String) throws -> KeyLookup {
            guard let keys = self.keys else { throw AuthCoreError(.keyProvider, "the database is down") }
            return try keys.keysWithoutWaiting(for: username) ?? .noSuchUser
        }
    }

    /// What an answer decides, without the parts that differ between two answers (random
    /// challenge data, token times).
    static func decision(_ answer: HandshakeEndpoint.Answer) -> String {
        switch answer {
        case .exchange(let value, let identity): "exchange \(value.prefix(while: { $0 != ":" })) \(identity?.username ?? "-") \(identity?.scheme.name ?? "-")"
        case .refused(let failure, let scheme): "refused \(failure.reason) \(scheme.name)"
        case .malformed(let reason, let audit): "malformed \(reason) \(audit ?? "-")"
        case .unavailable(let detail): "unavailable \(detail)"
        }
    }

    @Test("on the calling thread: the async path's decisions for a store that answers at once; nil where the store would make it wait")
    func withoutWaiting() async throws {
        let key = try SSHPrivateKey(generating: .ed25519)
        let rsa = try SSHPrivateKey(generating: .rsa, rsaBits: 2048)
        let keys = InMemoryKeyProvider(keys: ["alice": [key.publicKey], "bob": [rsa.publicKey]])
        let server = try makeServer(ImmediateStore(keys: keys))
        var cases: [[String]] = [[], ["request"], ["hello:x"], ["response:!!!"]]
        for (user, version) in [("alice", CRTAuthVersion.v2), ("bob", .v1), ("nobody", .v2), ("alice", .v1)] {
            let request = "request:" + CRTAuthRequest(username: user, version: version).encoded
            cases.append([request])
            guard case .exchange(let challenge, nil) = await HandshakeEndpoint.answer(xCHAP: [request], server: server, now: Self.now).answer else { continue }
            let signer = user == "bob" ? rsa : key
            if let response = try? await CRTAuthClientResponder.respond(to: String(challenge.dropFirst("challenge:".count)), serverName: "api.example.com", signers: [signer]) {
                cases.append(["response:" + response.encoded])
            }
        }
        #expect(cases.count >= 10)
        for values in cases {
            for now in [Self.now + 1, Self.now + 600] {
                let waited = await HandshakeEndpoint.answer(xCHAP: values, server: server, now: now)
                let immediate = try #require(HandshakeEndpoint.answerWithoutWaiting(xCHAP: values, server: server, now: now))
                #expect(waited.stage == immediate.stage && Self.decision(waited.answer) == Self.decision(immediate.answer), "\(values.map { $0.prefix(24) })")
            }
        }
        let request = "request:" + CRTAuthRequest(username: "alice", version: .v2).encoded
        // A store that cannot answer at once: nothing decided here once the key is needed.
        let waiting = try makeServer(FailingStore())
        #expect(HandshakeEndpoint.answerWithoutWaiting(xCHAP: [request], server: waiting, now: Self.now) == nil)
        #expect(HandshakeEndpoint.answerWithoutWaiting(xCHAP: ["request"], server: waiting, now: Self.now) != nil)
        // One that fails at once: the 503 of the async path.
        let down = try makeServer(ImmediateStore(keys: nil))
        let failed = try #require(HandshakeEndpoint.answerWithoutWaiting(xCHAP: [request], server: down, now: Self.now))
        #expect(Self.decision(failed.answer).hasPrefix("unavailable") && Self.decision(failed.answer).contains("database is down"))
    }
}
