import CRTAuthHummingbird
import CRTAuthJWT
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import SSHKeys
import Synchronization
import Testing

@Suite("JWKS fetching and caching (asymmetric_jwt_auth's rules) against a live server")
struct JWKSCacheTests {
    final class Site: Sendable {
        let document = Mutex<String>("")
        let hits = Mutex(0)
        let failing = Mutex(false)
        let delay = Mutex<Duration>(.zero)

        func application() -> some ApplicationProtocol {
            let router = Router()
            router.get("/jwks.json") { _, _ -> Response in
                self.hits.withLock { $0 += 1 }
                try await Task.sleep(for: self.delay.withLock { $0 })
                if self.failing.withLock({ $0 }) { return Response(status: .internalServerError) }
                return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: self.document.withLock { $0 })))
            }
            router.get("/redirect") { _, _ in Response(status: .found, headers: [.location: "/jwks.json"]) }
            router.get("/big") { _, _ in
                Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: #"{"keys":[],"pad":""# + String(repeating: "x", count: 2 << 20) + #""}"#)))
            }
            return Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        }
    }

    /// A live site publishing `first`, and a cache of it on a test clock.
    static func withCachedSite(publishing first: SSHPublicKey, _ body: @Sendable (_ site: Site, _ url: String, _ cache: JWKSCache, _ clock: TestClock) async throws -> Void) async throws {
        let site = Site()
        site.document.withLock { $0 = JSONWebKeySet.document(publishing: [first]) }
        let clock = TestClock()
        try await site.application().test(.live) { client in
            let cache = JWKSCache(logger: Logger(label: "test"), clock: { clock.now })
            try await body(site, "http://127.0.0.1:\(client.port!)/jwks.json", cache, clock)
            try await cache.shutdown()
        }
    }

    @Test("first fetch, cached, unknown kid refetched at most every 30 s, refreshed after 300 s, a failure keeps the set, untrusted after 3600 s")
    func rules() async throws {
        let first = SSHPrivateKey(Curve25519.Signing.PrivateKey()).publicKey
        let second = SSHPrivateKey(Curve25519.Signing.PrivateKey()).publicKey
        try await Self.withCachedSite(publishing: first) { site, url, cache, clock in
            let firstID = first.asymmetricJWTKeyID!, secondID = second.asymmetricJWTKeyID!
            #expect(await cache.key(url: url, kid: firstID) == first)
            #expect(await cache.key(url: url, kid: firstID) == first)
            #expect(site.hits.withLock { $0 } == 1)
            // A new key appears; a token naming it triggers a refetch, but not within 30 s of the last.
            site.document.withLock { $0 = JSONWebKeySet.document(publishing: [first, second]) }
            clock.advance(10)
            #expect(await cache.key(url: url, kid: secondID) == nil)
            #expect(site.hits.withLock { $0 } == 1)
            clock.advance(21)
            #expect(await cache.key(url: url, kid: secondID) == second)
            #expect(site.hits.withLock { $0 } == 2)
            // Stale after 300 s: answered from the cached set and refreshed behind the request;
            // a failed refresh keeps the good set.
            site.failing.withLock { $0 = true }
            clock.advance(300)
            #expect(await cache.key(url: url, kid: firstID) == first)
            await cache.settle()
            #expect(site.hits.withLock { $0 } == 3)
            #expect(await cache.key(url: url, kid: firstID) == first)
            // Not trusted once fetched 3600 s ago or more.
            clock.advance(3300)
            #expect(await cache.key(url: url, kid: firstID) == nil)
            // The server recovers: trusted again.
            site.failing.withLock { $0 = false }
            clock.advance(30)
            #expect(await cache.key(url: url, kid: firstID) == first)
        }
    }

    @Test("a stale set answers at once while a slow refresh runs behind; the refreshed set then rules")
    func refreshBehind() async throws {
        let first = SSHPrivateKey(Curve25519.Signing.PrivateKey()).publicKey
        let second = SSHPrivateKey(Curve25519.Signing.PrivateKey()).publicKey
        try await Self.withCachedSite(publishing: first) { site, url, cache, clock in
            let firstID = first.asymmetricJWTKeyID!
            #expect(await cache.key(url: url, kid: firstID) == first)
            // The key is rotated out, and the site now takes 3 s to answer.
            site.document.withLock { $0 = JSONWebKeySet.document(publishing: [second]) }
            site.delay.withLock { $0 = .seconds(3) }
            clock.advance(300)
            let started = ContinuousClock.now
            #expect(await cache.key(url: url, kid: firstID) == first)
            #expect(ContinuousClock.now - started < .seconds(1.5))
            await cache.settle()
            #expect(site.hits.withLock { $0 } == 2)
            #expect(await cache.key(url: url, kid: firstID) == nil)
            #expect(await cache.key(url: url, kid: second.asymmetricJWTKeyID!) == second)
        }
    }

    @Test("refused: redirects, bodies over 1 MiB, schemes other than http(s), non-JSON")
    func refusals() async throws {
        let key = SSHPrivateKey(Curve25519.Signing.PrivateKey()).publicKey
        let site = Site()
        site.document.withLock { $0 = JSONWebKeySet.document(publishing: [key]) }
        try await site.application().test(.live) { client in
            let base = "http://127.0.0.1:\(client.port!)"
            let cache = JWKSCache(logger: Logger(label: "test"))
            let kid = key.asymmetricJWTKeyID!
            #expect(await cache.key(url: base + "/redirect", kid: kid) == nil)
            #expect(await cache.key(url: base + "/big", kid: kid) == nil)
            #expect(await cache.key(url: "file:///etc/passwd", kid: kid) == nil)
            site.document.withLock { $0 = "<html>not json</html>" }
            #expect(await cache.key(url: base + "/jwks.json", kid: kid) == nil)
            try await cache.shutdown()
        }
    }
}
