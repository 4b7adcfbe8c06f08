import SSHKeys

/// One key a user may authenticate with.
public struct UserKey: Hashable, Sendable {
    /// The key, or the CA key when ``isCertificateAuthority`` is set.
    public let key: SSHPublicKey
    /// Trust user certificates signed by ``key`` (principal = username) instead of the key.
    public let isCertificateAuthority: Bool
    /// When the key stops being accepted (`expiry-time`), Unix seconds.
    public let expiresAt: UInt64?
    /// For a CA: the certificate principals accepted instead of the username (`principals=`).
    public let principals: [String]?

    public init(key: SSHPublicKey, isCertificateAuthority: Bool = false, expiresAt: UInt64? = nil, principals: [String]? = nil) {
        self.key = key
        self.isCertificateAuthority = isCertificateAuthority
        self.expiresAt = expiresAt
        self.principals = principals
    }
}

/// What a key lookup found.
public enum KeyLookup: Hashable, Sendable {
    /// No such user: the server answers with a fake challenge (anti-enumeration).
    case noSuchUser
    /// The user exists but may not log in (no usable key, not in the group, …).
    case refused(reason: String)
    /// The user's keys, in preference order.
    case keys([UserKey])
}

/// Where a server finds users' public keys: files, SQLite, PostgreSQL, LDAP, …
public protocol KeyProvider: Sendable {
    /// Looks up `username`'s keys. Throws only for operational faults (I/O, unreachable store).
    func keys(for username: String) async throws -> KeyLookup

    /// The same lookup on the calling thread, for a store that answers in about the time of a
    /// local read (memory, an embedded database): servers ask it on their event loops, so a
    /// store that would wait for a network or another thread returns nil, and is then asked
    /// ``keys(for:)``. The default returns nil.
    func keysWithoutWaiting(for username: String) throws -> KeyLookup?

    /// Told after `key` (the key itself, or the CA of a certificate) authenticated `username`
    /// at `time` (Unix seconds), so a store can keep "last used" dates. Synchronous and cheap:
    /// a store that writes does so in the background; the default does nothing.
    func keyUsed(_ key: SSHPublicKey, by username: String, at time: UInt64)
}

extension KeyProvider {
    public func keysWithoutWaiting(for username: String) throws -> KeyLookup? { nil }

    public func keyUsed(_ key: SSHPublicKey, by username: String, at time: UInt64) {}
}

/// A key store that can also find a key by its fingerprint and say whose it is: schemes whose
/// requests name a key and no user (serveradmin's, RFC 9421's `keyid`) need it.
public protocol KeyOwnerLookup: KeyProvider {
    /// The key with this `SHA256:` fingerprint that its owner may authenticate with itself (not
    /// revoked, not expired at `now`, not a CA), and the owner; nil for a key nobody registered
    /// — or that more than one user registered.
    func owner(ofFingerprint fingerprint: String, now: UInt64) async throws -> (username: String, key: SSHPublicKey)?
}

/// A key store that can name a JWKS URL a user's JWTs may also be signed with
/// (asymmetric_jwt_auth's `JWKSEndpointTrust`).
public protocol JWKSTrustLookup: KeyProvider {
    /// The JWKS URL trusted for `username`, if any.
    func jwksURL(for username: String) async throws -> String?
}

/// A fixed map of users to keys.
public struct InMemoryKeyProvider: KeyOwnerLookup {
    public var users: [String: [UserKey]]

    public init(users: [String: [UserKey]] = [:]) { self.users = users }

    /// Convenience: each user with plain keys.
    public init(keys: [String: [SSHPublicKey]]) {
        self.users = keys.mapValues { $0.map { UserKey(key: $0) } }
    }

    public func keys(for username: String) async throws -> KeyLookup {
        self.lookup(username)
    }

    public func keysWithoutWaiting(for username: String) throws -> KeyLookup? {
        self.lookup(username)
    }

    private func lookup(_ username: String) -> KeyLookup {
        guard let keys = self.users[username] else { return .noSuchUser }
        return keys.isEmpty ? .refused(reason: "the user has no keys") : .keys(keys)
    }

    public func owner(ofFingerprint fingerprint: String, now: UInt64) async throws -> (username: String, key: SSHPublicKey)? {
        let owners = self.users.compactMap { user, keys in
            keys.first { !$0.isCertificateAuthority && ($0.expiresAt ?? .max) > now && $0.key.sha256Fingerprint == fingerprint }.map { (username: user, key: $0.key) }
        }
        return owners.count == 1 ? owners[0] : nil
    }
}

/// A key as a key store holds it, with what the store records about it.
public struct StoredKey: Hashable, Sendable {
    public let username: String
    public let key: SSHPublicKey
    /// `SHA256:…`, as `ssh-keygen -l` prints it.
    public let fingerprint: String
    public let comment: String
    /// Trusts user certificates signed by ``key`` (`cert-authority`).
    public let isCertificateAuthority: Bool
    public let principals: [String]?
    /// Unix seconds.
    public let expiresAt: UInt64?
    /// Unix seconds.
    public let createdAt: UInt64
    /// Unix seconds, to within the store's write throttle (a minute for ours).
    public let lastUsedAt: UInt64?

    public init(username: String, key: SSHPublicKey, comment: String, isCertificateAuthority: Bool = false, principals: [String]? = nil, expiresAt: UInt64? = nil, createdAt: UInt64, lastUsedAt: UInt64? = nil) {
        self.username = username
        self.key = key
        self.fingerprint = key.sha256Fingerprint
        self.comment = comment
        self.isCertificateAuthority = isCertificateAuthority
        self.principals = principals
        self.expiresAt = expiresAt
        self.createdAt = createdAt
        self.lastUsedAt = lastUsedAt
    }
}
