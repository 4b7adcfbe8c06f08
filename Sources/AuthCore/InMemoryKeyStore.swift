import SSHKeys
import Synchronization

/// Keys held in memory and administered like any other store (add, list, revoke): for tests,
/// examples and services that load their keys at start. Lookups answer as
/// ``InMemoryKeyProvider`` does, over the keys held at that moment.
public final class InMemoryKeyStore: KeyStore, KeyOwnerLookup, Sendable {
    private let stored = Mutex<[String: [StoredKey]]>([:])

    public init() {}

    /// The keys as a lookup answers them now.
    private var snapshot: InMemoryKeyProvider {
        InMemoryKeyProvider(users: self.stored.withLock { stored in
            stored.mapValues { $0.map { UserKey(key: $0.key, isCertificateAuthority: $0.isCertificateAuthority, expiresAt: $0.expiresAt, principals: $0.principals) } }
        })
    }

    public func keys(for username: String) async throws -> KeyLookup { try await self.snapshot.keys(for: username) }

    public func keysWithoutWaiting(for username: String) throws -> KeyLookup? { try self.snapshot.keysWithoutWaiting(for: username) }

    public func owner(ofFingerprint fingerprint: String, now: UInt64) async throws -> (username: String, key: SSHPublicKey)? {
        try await self.snapshot.owner(ofFingerprint: fingerprint, now: now)
    }

    public func checkHealth() async throws {}

    /// Adds every entry or, when one is invalid, none.
    @discardableResult
    public func add(_ entries: [(username: String, key: AuthorizedKey)], now: UInt64) throws -> [StoredKey] {
        let added = try entries.map { username, entry -> StoredKey in
            guard UsernameRule.isValid(username) else { throw AuthCoreError(.invalidInput, UsernameRule.requirement) }
            return StoredKey(username: username, key: entry.key, comment: entry.comment, isCertificateAuthority: entry.isCertificateAuthority,
                             principals: entry.principals, expiresAt: try entry.expiryTime(), createdAt: now)
        }
        self.stored.withLock { stored in
            for key in added where !(stored[key.username] ?? []).contains(where: { $0.key == key.key }) {
                stored[key.username, default: []].append(key)
            }
        }
        return added
    }

    public func list(username: String?) -> [StoredKey] {
        self.stored.withLock { stored in
            stored.filter { username == nil || $0.key == username }.sorted { $0.key < $1.key }.flatMap(\.value)
        }
    }

    public func revoke(username: String, fingerprint: String, now: UInt64) -> Bool {
        self.stored.withLock { stored in
            guard let index = stored[username]?.firstIndex(where: { $0.fingerprint == fingerprint }) else { return false }
            stored[username]?.remove(at: index)
            return true
        }
    }
}
