import AuthCore
import CRTAuth
import CRTAuthSQLite
import Foundation
import TestSupport
import Testing

@Suite("Nonce stores")
struct NonceStoreTests {
    enum Kind: String, CaseIterable, Sendable { case memory, sqlite }

    /// Two handles on one store: two SQLite connections to one file, or one memory store twice.
    static func stores(_ kind: Kind, _ dir: TemporaryDirectory) throws -> (any NonceStore, any NonceStore) {
        switch kind {
        case .memory:
            let store = InMemoryNonceStore()
            return (store, store)
        case .sqlite:
            return (try SQLiteNonceStore(path: dir.file("nonces.sqlite")), try SQLiteNonceStore(path: dir.file("nonces.sqlite")))
        }
    }

    @Test("a nonce is accepted once until it expires, then may be used again", arguments: Kind.allCases)
    func replay(kind: Kind) async throws {
        let dir = try TemporaryDirectory()
        let (store, other) = try Self.stores(kind, dir)
        #expect(try await store.insertIfAbsent("n1", expiresAt: 1_030, now: 1_000))
        #expect(try await !store.insertIfAbsent("n1", expiresAt: 1_040, now: 1_010))
        #expect(try await !other.insertIfAbsent("n1", expiresAt: 1_040, now: 1_029))
        #expect(try await store.insertIfAbsent("n2", expiresAt: 1_040, now: 1_010))
        #expect(try await other.insertIfAbsent("n1", expiresAt: 1_090, now: 1_030))
        #expect(try await !store.insertIfAbsent("n1", expiresAt: 1_090, now: 1_031))
    }

    @Test("copies of one credential arriving at the same instant: exactly one is accepted", arguments: Kind.allCases)
    func race(kind: Kind) async throws {
        let dir = try TemporaryDirectory()
        let (store, other) = try Self.stores(kind, dir)
        for round in 0..<20 {
            let accepted = try await withThrowingTaskGroup(of: Bool.self) { group in
                for copy in 0..<16 {
                    group.addTask { try await (copy % 2 == 0 ? store : other).insertIfAbsent("race-\(round)", expiresAt: 2_000, now: 1_000) }
                }
                var count = 0
                for try await ok in group where ok { count += 1 }
                return count
            }
            #expect(accepted == 1)
        }
    }

    @Test("the memory store stays bounded under a flood: expired nonces are evicted, a store full of live ones fails closed")
    func bounded() async throws {
        let store = InMemoryNonceStore(capacity: 1000)
        // A flood over time: every nonce lives 10 s; the table never holds more than the capacity.
        for index in 0..<20_000 {
            let now = UInt64(1_000 + index / 100)
            #expect(try await store.insertIfAbsent("flood-\(index)", expiresAt: now + 10, now: now))
            #expect(store.count <= 1000)
        }
        // 1000 live nonces at one instant: the next is refused with a typed error, not forgotten.
        let full = InMemoryNonceStore(capacity: 1000)
        for index in 0..<1000 { _ = try await full.insertIfAbsent("live-\(index)", expiresAt: 5_000, now: 1_000) }
        await #expect(throws: AuthCoreError(.nonceStore, "")) { try await full.insertIfAbsent("one-more", expiresAt: 5_000, now: 1_000) }
        #expect(try await !full.insertIfAbsent("live-7", expiresAt: 5_000, now: 1_000))
        #expect(try await full.insertIfAbsent("later", expiresAt: 9_000, now: 5_000))
    }
}
