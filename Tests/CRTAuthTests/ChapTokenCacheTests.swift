import AuthCore
@testable import CRTAuth
import Testing

/// A token found authentic is not checked again, but when it holds is decided every time; what
/// fails is never kept; new secrets empty the cache.
@Suite("chap token cache")
struct ChapTokenCacheTests {
    static let now: UInt64 = 1_800_000_000

    static func decide(_ cache: ChapTokenCache?, _ server: AuthServer, _ value: String, at now: UInt64) throws -> String {
        switch try ChapTokenAuthenticator(server: { server }).authenticate(authorization: value, now: now, cache: cache) {
        case .success(let identity)?: "user \(identity.username)"
        case .failure(let failure)?: "\(failure.reason)"
        case nil: "none"
        }
    }

    @Test("the same decisions with and without the cache: valid, expired, not yet valid, tampered, not a token")
    func sameDecisions() throws {
        let server = try makeServer(InMemoryKeyProvider(keys: [:]))
        let token = "chap:" + server.issueToken(for: "alice", now: Self.now).encoded
        var tampered = Array(token.utf8)
        tampered[tampered.count - 3] = tampered[tampered.count - 3] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        let cache = ChapTokenCache()
        for (value, now) in [(token, Self.now), (token, Self.now + 61), (token, Self.now - 10), (token, Self.now), (String(decoding: tampered, as: UTF8.self), Self.now), ("Bearer x", Self.now)] {
            let uncached = Result { try Self.decide(nil, server, value, at: now) }
            let cached = Result { try Self.decide(cache, server, value, at: now) }
            #expect("\(uncached)" == "\(cached)", "\(value.prefix(12))… at \(now)")
        }
        #expect(try Self.decide(cache, server, token, at: Self.now) == "user alice")
        #expect(try Self.decide(cache, server, token, at: Self.now + 61) == "expired")
        #expect(cache.count == 1, "only the authentic token is kept")
    }

    @Test("new secrets empty it: a token of the old ones is refused")
    func rotation() throws {
        let old = try makeServer(InMemoryKeyProvider(keys: [:]), secrets: ["old"])
        let rotated = try makeServer(InMemoryKeyProvider(keys: [:]), secrets: ["new"])
        let token = "chap:" + old.issueToken(for: "alice", now: Self.now).encoded
        let cache = ChapTokenCache()
        #expect(try Self.decide(cache, old, token, at: Self.now) == "user alice")
        #expect(try Self.decide(cache, rotated, token, at: Self.now) == "badMAC")
        #expect(cache.count == 0)
    }

    @Test("it empties when full")
    func bounded() throws {
        let server = try makeServer(InMemoryKeyProvider(keys: [:]))
        let cache = ChapTokenCache()
        for user in 0...ChapTokenCache.capacity {
            #expect(try Self.decide(cache, server, "chap:" + server.issueToken(for: "u\(user)", now: Self.now).encoded, at: Self.now) == "user u\(user)")
        }
        #expect(cache.count == 1)
    }
}
