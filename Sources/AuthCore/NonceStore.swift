import Synchronization

/// Remembers the nonces (or whole credentials) a server has accepted, so that a replay is
/// refused: per-request schemes (JWT, RFC 9421, serveradmin) record each credential here.
///
/// `insertIfAbsent` is atomic: of two copies of a credential arriving at the same instant,
/// exactly one is accepted.
public protocol NonceStore: Sendable {
    /// Records `nonce` until `expiresAt` (Unix seconds). Returns false when it is already
    /// recorded and not expired at `now` — a replay. Throws when the store cannot answer
    /// (callers refuse the credential: failing closed).
    func insertIfAbsent(_ nonce: String, expiresAt: UInt64, now: UInt64) async throws -> Bool
}

/// A nonce store in this process's memory: bounded, expired entries evicted as it fills, so
/// memory stays flat under a flood. When it is full of unexpired nonces it fails closed
/// (throws) rather than forget one.
///
/// Each nonce is kept as a 128-bit digest (24 bytes an entry with its expiry, whatever the
/// nonce's length): two SipHash values under this process's random hashing seed, so nobody
/// outside can aim for a collision; different nonces are taken for one only if both collide.
public final class InMemoryNonceStore: NonceStore {
    /// Nonces held at most by default (about 50 MB when full).
    public static let defaultCapacity = 1_000_000

    private struct Digest: Hashable {
        let high: Int, low: Int

        init(_ nonce: String) {
            var nonce = nonce
            (self.high, self.low) = nonce.withUTF8 { bytes in
                var first = Hasher(), second = Hasher()
                first.combine(0x6e6f6e6365)
                second.combine(0x7265706c6179)
                first.combine(bytes: UnsafeRawBufferPointer(bytes))
                second.combine(bytes: UnsafeRawBufferPointer(bytes))
                return (first.finalize(), second.finalize())
            }
        }
    }

    private struct State {
        var expiries: [Digest: UInt64] = [:]
        var insertsSinceSweep = 0
    }

    public let capacity: Int
    private let state = Mutex(State())

    public init(capacity: Int = InMemoryNonceStore.defaultCapacity) {
        self.capacity = max(1, capacity)
    }

    /// Nonces held now (expired ones included until the next sweep).
    public var count: Int { self.state.withLock { $0.expiries.count } }

    public func insertIfAbsent(_ nonce: String, expiresAt: UInt64, now: UInt64) async throws -> Bool {
        let nonce = Digest(nonce)
        return try self.state.withLock { state in
            if let expiry = state.expiries[nonce], expiry > now { return false }
            // Sweep expired entries when full, and regularly, so that the table stays at the
            // size of the live window (amortised O(1) per insert).
            if state.expiries.count >= self.capacity || state.insertsSinceSweep >= max(1024, self.capacity / 4) {
                state.expiries = state.expiries.filter { $0.value > now }
                state.insertsSinceSweep = 0
            }
            guard state.expiries.count < self.capacity else {
                throw AuthCoreError(.nonceStore, "the replay store holds \(self.capacity) unexpired nonces; refusing new credentials until some expire")
            }
            state.expiries[nonce] = expiresAt
            state.insertsSinceSweep += 1
            return true
        }
    }
}
