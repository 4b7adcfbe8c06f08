import AuthCore
import Foundation
import GRDB
import SSHKeys
import Synchronization

/// Users' SSH keys in an SQLite database (WAL mode): the gateway's embedded key store.
///
/// Many readers and one writer may use the database at once, from any number of tasks or
/// processes (`crtauth serve` reads while `crtauth keys` writes). Every change is one
/// transaction: a key reported as added is on disk, and an import either lands whole or not at
/// all. Removing a key revokes it: the row stays (with the revocation time) for the audit trail
/// and is never offered again unless the key is added anew.
public final class SQLiteKeyStore: KeyOwnerLookup, JWKSTrustStore, Sendable {
    /// Most keys one user may have (a bound on what one lookup returns).
    public static let maximumKeysPerUser = 64

    private let pool: DatabasePool
    /// The key lookup's own connections (``KeyLookupConnections``).
    private let lookups: KeyLookupConnections
    /// When `last_used_on` is written.
    private let lastUse = LastUseThrottle()
    private let parsed = ParsedKeyCache<Data>()
    /// Users' keys as last read, while the database is unchanged (``KeyLookupCache``).
    private let cache: KeyLookupCache

    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    public init(path: String) throws {
        self.pool = try Self.open(path: path)
        self.lookups = KeyLookupConnections(path: path)
        self.cache = KeyLookupCache(databasePath: path)
    }

    /// The database at `path` in WAL mode, its schema brought up to date (the key store and
    /// the nonce store share one file and one schema).
    static func open(path: String) throws -> DatabasePool {
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        configuration.foreignKeysEnabled = true
        do {
            let pool = try DatabasePool(path: path, configuration: configuration)
            try Self.migrator.migrate(pool)
            return pool
        } catch {
            throw SQLiteKeyStoreError.database(error, path: path)
        }
    }

    private static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: users and keys") { db in
            try db.execute(sql: """
                CREATE TABLE users (
                    id INTEGER PRIMARY KEY,
                    name TEXT NOT NULL UNIQUE,
                    created_at INTEGER NOT NULL
                );
                CREATE TABLE keys (
                    id INTEGER PRIMARY KEY,
                    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                    algorithm TEXT NOT NULL,
                    blob BLOB NOT NULL,
                    fingerprint TEXT NOT NULL,
                    comment TEXT NOT NULL DEFAULT '',
                    is_certificate_authority INTEGER NOT NULL DEFAULT 0,
                    principals TEXT,
                    expires_at INTEGER,
                    created_at INTEGER NOT NULL,
                    last_used_on INTEGER,
                    revoked_at INTEGER,
                    UNIQUE (user_id, fingerprint)
                );
                CREATE INDEX keys_by_user ON keys (user_id) WHERE revoked_at IS NULL;
                """)
        }
        migrator.registerMigration("v2: nonces") { db in
            try db.execute(sql: """
                CREATE TABLE nonces (
                    nonce TEXT PRIMARY KEY,
                    expires_at INTEGER NOT NULL
                ) WITHOUT ROWID;
                CREATE INDEX nonces_by_expiry ON nonces (expires_at);
                """)
        }
        migrator.registerMigration("v3: keys by fingerprint") { db in
            try db.execute(sql: "CREATE INDEX keys_by_fingerprint ON keys (fingerprint) WHERE revoked_at IS NULL")
        }
        migrator.registerMigration("v4: trusted JWKS URLs") { db in
            try db.execute(sql: """
                CREATE TABLE jwks_trust (
                    user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
                    url TEXT NOT NULL,
                    created_at INTEGER NOT NULL
                );
                """)
        }
        return migrator
    }

    // MARK: KeyProvider

    public func keys(for username: String) async throws -> KeyLookup {
        try self.lookup(username)
    }

    /// A local read: answered on the calling thread (SQLite's WAL lets readers proceed while
    /// `crtauth keys` writes).
    public func keysWithoutWaiting(for username: String) throws -> KeyLookup? {
        try self.lookup(username)
    }

    private func lookup(_ username: String) throws -> KeyLookup {
        // Taken before the read, so what is kept under it is at least as new.
        let stamp = self.cache.stamp()
        if let stamp, let kept = self.cache.lookup(username, at: stamp) { return kept }
        let found = try self.read(username)
        if let stamp { self.cache.keep(found, for: username, at: stamp) }
        return found
    }

    private func read(_ username: String) throws -> KeyLookup {
        let rows: [KeyLookupConnections.Row]?
        do {
            rows = try self.lookups.keyRows(of: username, limit: Self.maximumKeysPerUser)
        } catch {
            throw AuthCoreError(.keyProvider, "the SQLite key store failed: \(SQLiteKeyStoreError.describe(error))")
        }
        guard let rows else { return .noSuchUser }
        let keys = rows.compactMap { row -> UserKey? in
            // A row that no longer parses (written by a newer version?) is skipped, not fatal.
            guard let key = self.parsed.key(row.blob) else { return nil }
            return UserKey(
                key: key, isCertificateAuthority: row.isCertificateAuthority,
                expiresAt: row.expiresAt.flatMap { UInt64(exactly: $0) },
                principals: row.principals.map { $0.split(separator: ",").map(String.init) }
            )
        }
        return keys.isEmpty ? .refused(reason: "the user has no active keys") : .keys(keys)
    }

    public func owner(ofFingerprint fingerprint: String, now: UInt64) async throws -> (username: String, key: SSHPublicKey)? {
        let rows: [(name: String, blob: Data)]
        do {
            rows = try self.lookups.owners(ofFingerprint: fingerprint, now: Int64(clamping: now))
        } catch {
            throw AuthCoreError(.keyProvider, "the SQLite key store failed: \(SQLiteKeyStoreError.describe(error))")
        }
        guard rows.count == 1, let key = self.parsed.key(rows[0].blob) else { return nil }
        return (rows[0].name, key)
    }

    /// Records the use in the background (at most once a minute per key; see ``recordUse``).
    public func keyUsed(_ key: SSHPublicKey, by username: String, at time: UInt64) {
        guard self.lastUse.isDue(key, by: username, at: time) else { return }
        let fingerprint = key.sha256Fingerprint
        Task { await self.write(fingerprint, username, time) }
    }

    /// Records the use now and returns when it is written (or skipped: at most once a minute
    /// per key). Failures are ignored: a busy database must not fail an authentication.
    public func recordUse(_ key: SSHPublicKey, by username: String, at time: UInt64) async {
        guard self.lastUse.isDue(key, by: username, at: time) else { return }
        await self.write(key.sha256Fingerprint, username, time)
    }

    private func write(_ fingerprint: String, _ username: String, _ time: UInt64) async {
        guard let stamp = Int64(exactly: time) else { return }
        do {
            try await self.pool.write { db in
                try db.execute(sql: """
                    UPDATE keys SET last_used_on = ? WHERE fingerprint = ? AND revoked_at IS NULL
                    AND user_id = (SELECT id FROM users WHERE name = ?) AND (last_used_on IS NULL OR last_used_on <= ?)
                    """, arguments: [stamp, fingerprint, username, stamp - Int64(LastUseThrottle.resolution)])
            }
        } catch {
            // Best effort: a busy or read-only database must not fail an authentication.
        }
    }

    // MARK: Administration

    /// Adds keys for users in one transaction; returns what was added. A key the user already
    /// has is updated (comment, options) and un-revoked.
    @discardableResult
    public func add(_ entries: [(username: String, key: AuthorizedKey)], now: UInt64) throws -> [StoredKey] {
        for (username, _) in entries { try Self.checkUsername(username) }
        guard let stamp = Int64(exactly: now) else { throw SQLiteKeyStoreError.invalid("the clock is out of range") }
        var prepared: [(String, AuthorizedKey, UInt64?)] = []
        for (username, entry) in entries {
            let expiry: UInt64?
            do { expiry = try entry.expiryTime() } catch { throw SQLiteKeyStoreError.invalid("key \(entry.key.sha256Fingerprint): \(error)") }
            prepared.append((username, entry, expiry))
        }
        do {
            try self.pool.write { db in
                for (username, entry, expiry) in prepared {
                    try db.execute(sql: "INSERT INTO users (name, created_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING", arguments: [username, stamp])
                    let userID = try Int64.fetchOne(db, sql: "SELECT id FROM users WHERE name = ?", arguments: [username])
                    let count = try Int.fetchOne(db, sql: "SELECT count(*) FROM keys WHERE user_id = ? AND revoked_at IS NULL AND fingerprint != ?", arguments: [userID, entry.key.sha256Fingerprint]) ?? 0
                    guard count < Self.maximumKeysPerUser else {
                        throw SQLiteKeyStoreError.invalid("\(username) already has \(Self.maximumKeysPerUser) keys")
                    }
                    try db.execute(sql: """
                        INSERT INTO keys (user_id, algorithm, blob, fingerprint, comment, is_certificate_authority, principals, expires_at, created_at)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                        ON CONFLICT (user_id, fingerprint) DO UPDATE SET
                            comment = excluded.comment, is_certificate_authority = excluded.is_certificate_authority,
                            principals = excluded.principals, expires_at = excluded.expires_at, revoked_at = NULL
                        """, arguments: [
                            userID, entry.key.type.name, Data(entry.key.wireBlob), entry.key.sha256Fingerprint, entry.comment,
                            entry.isCertificateAuthority, entry.principals?.joined(separator: ","), expiry.flatMap { Int64(exactly: $0) }, stamp,
                        ])
                }
            }
        } catch let error as SQLiteKeyStoreError {
            throw error
        } catch {
            throw SQLiteKeyStoreError.database(error, path: self.pool.path)
        }
        return try self.list().filter { stored in prepared.contains { $0.0 == stored.username && $0.1.key == stored.key } }
    }

    /// The active keys, of one user or of everyone, ordered by user and age.
    public func list(username: String? = nil) throws -> [StoredKey] {
        do {
            return try self.pool.read { db in
                try Row.fetchAll(db, sql: """
                    SELECT users.name, keys.* FROM keys JOIN users ON users.id = keys.user_id
                    WHERE keys.revoked_at IS NULL AND (? IS NULL OR users.name = ?)
                    ORDER BY users.name, keys.id
                    """, arguments: [username, username]).compactMap(StoredKey.init(row:))
            }
        } catch {
            throw SQLiteKeyStoreError.database(error, path: self.pool.path)
        }
    }

    /// Revokes `username`'s key with this `SHA256:` fingerprint; false when there is none.
    public func revoke(username: String, fingerprint: String, now: UInt64) throws -> Bool {
        do {
            return try self.pool.write { db in
                try db.execute(sql: """
                    UPDATE keys SET revoked_at = ? WHERE fingerprint = ? AND revoked_at IS NULL
                    AND user_id = (SELECT id FROM users WHERE name = ?)
                    """, arguments: [Int64(clamping: now), fingerprint, username])
                return db.changesCount > 0
            }
        } catch {
            throw SQLiteKeyStoreError.database(error, path: self.pool.path)
        }
    }

    // MARK: JWKS trust

    public func jwksURL(for username: String) async throws -> String? {
        do {
            return try await self.pool.read { db in
                try String.fetchOne(db, sql: "SELECT url FROM jwks_trust JOIN users ON users.id = jwks_trust.user_id WHERE users.name = ?", arguments: [username])
            }
        } catch {
            throw AuthCoreError(.keyProvider, "the SQLite key store failed: \(SQLiteKeyStoreError.describe(error))")
        }
    }

    /// Trusts the JWKS at `url` (http or https) for `username`'s JWTs, replacing any other.
    public func trustJWKS(username: String, url: String, now: UInt64) throws {
        try Self.checkUsername(username)
        guard let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased(), scheme == "http" || scheme == "https", parsed.host != nil else {
            throw SQLiteKeyStoreError.invalid("a JWKS URL is http:// or https://, not \(url)")
        }
        do {
            try self.pool.write { db in
                try db.execute(sql: "INSERT INTO users (name, created_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING", arguments: [username, Int64(clamping: now)])
                try db.execute(sql: """
                    INSERT INTO jwks_trust (user_id, url, created_at) SELECT id, ?, ? FROM users WHERE name = ?
                    ON CONFLICT (user_id) DO UPDATE SET url = excluded.url, created_at = excluded.created_at
                    """, arguments: [url, Int64(clamping: now), username])
            }
        } catch {
            throw SQLiteKeyStoreError.database(error, path: self.pool.path)
        }
    }

    /// Stops trusting `username`'s JWKS; false when none was trusted.
    public func distrustJWKS(username: String) throws -> Bool {
        do {
            return try self.pool.write { db in
                try db.execute(sql: "DELETE FROM jwks_trust WHERE user_id = (SELECT id FROM users WHERE name = ?)", arguments: [username])
                return db.changesCount > 0
            }
        } catch {
            throw SQLiteKeyStoreError.database(error, path: self.pool.path)
        }
    }

    /// Throws when the database cannot be read (for health checks).
    public func checkHealth() async throws {
        do {
            _ = try await self.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM users") }
        } catch {
            throw SQLiteKeyStoreError.database(error, path: self.pool.path)
        }
    }

    static func checkUsername(_ username: String) throws {
        guard UsernameRule.isValid(username) else { throw SQLiteKeyStoreError.invalid(UsernameRule.requirement) }
    }
}

extension StoredKey {
    init?(row: Row) {
        guard let blob: Data = row["blob"], let key = try? SSHPublicKey(wireBlob: blob) else { return nil }
        self.init(
            username: row["name"], key: key, comment: row["comment"], isCertificateAuthority: row["is_certificate_authority"],
            principals: (row["principals"] as String?).map { $0.split(separator: ",").map(String.init) },
            expiresAt: (row["expires_at"] as Int64?).flatMap { UInt64(exactly: $0) },
            createdAt: UInt64(clamping: row["created_at"] as Int64),
            lastUsedAt: (row["last_used_on"] as Int64?).flatMap { UInt64(exactly: $0) })
    }
}

/// Why the SQLite key store refused or failed.
public struct SQLiteKeyStoreError: Error, CustomStringConvertible, Sendable {
    public let description: String

    static func invalid(_ message: String) -> Self { Self(description: message) }

    static func database(_ error: any Error, path: String) -> Self {
        Self(description: "the key database \(path) failed: \(self.describe(error))")
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? DatabaseError { return error.message ?? "\(error.resultCode)" }
        return "\(error)"
    }
}
