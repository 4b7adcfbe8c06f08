import SSHKeys

/// A key store that can be administered — what `crtauth keys` and the gateway use, whichever
/// store it is (SQLite, PostgreSQL, a crtauth key directory). Importing is adding many in one
/// call: a store adds all of them or none.
public protocol KeyStore: KeyProvider, HealthChecking {
    /// Adds keys (each with its `authorized_keys` options and comment); returns them as stored.
    func add(_ entries: [(username: String, key: AuthorizedKey)], now: UInt64) async throws -> [StoredKey]
    /// The active keys, of one user or of all.
    func list(username: String?) async throws -> [StoredKey]
    /// Revokes a user's key; false when the user has no such active key.
    func revoke(username: String, fingerprint: String, now: UInt64) async throws -> Bool
}

/// A key store that also keeps which JWKS URL each user's JWTs may be verified against
/// (asymmetric_jwt_auth's JWKS endpoint trust).
public protocol JWKSTrustStore: KeyStore, JWKSTrustLookup {
    func trustJWKS(username: String, url: String, now: UInt64) async throws
    /// False when the user trusted no JWKS.
    func distrustJWKS(username: String) async throws -> Bool
}
