import AuthCore
import Foundation
import Logging
import NIOCore
import PostgresNIO
import SSHKeys
import Synchronization

/// Users' SSH keys, trusted JWKS URLs and replay nonces in PostgreSQL, shared by every gateway
/// that uses the same database: the same schema and behaviour as the SQLite store (users, keys
/// with comments, `last_used_on` written at most once a minute per key, revocation kept for
/// audit, atomic insert-if-absent nonces with expiry clean-up).
///
/// Built on postgres-nio's `PostgresClient` (a connection pool that reconnects by itself).
/// Every operation has a deadline (``operationTimeout``): with the database down, lookups fail
/// fast with ``AuthCoreError/Code-swift.struct/keyProvider`` (the gateway answers 503) instead of
/// queueing, and work again once it is back.
public final class PostgresKeyStore: KeyOwnerLookup, JWKSTrustStore, NonceStore, Sendable {
    public static let maximumKeysPerUser = 64
    /// Longest wait for one operation, connection included.
    public static let operationTimeout: Duration = .seconds(3)
    /// Longest wait for the first connection at start-up (postgres-nio's pool would retry a
    /// wrong password for about a minute; ``connect(_:logger:)`` checks once and says why).
    public static let connectTimeout: Duration = .seconds(5)
    /// Longest wait for the schema migration at start-up.
    public static let migrationTimeout: Duration = .seconds(60)
    static let sweepInterval = 1024

    private let client: PostgresClient
    private let runner: Task<Void, Never>
    private let logger: Logger
    private let lastUse = LastUseThrottle()
    private let parsed = ParsedKeyCache<[UInt8]>()
    private let inserts = Mutex(0)
    /// Where the store is, without the password (for messages).
    public let location: String

    private init(client: PostgresClient, location: String, logger: Logger) {
        self.client = client
        self.location = location
        self.logger = logger
        self.runner = Task { await client.run() }
    }

    /// Connects to `url` (`postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=disable|prefer|require]`;
    /// the password may also come from `password`, else `PGPASSWORD`), checks the credentials
    /// with one connection, and brings the schema up to date (under an advisory lock, so
    /// gateways starting together migrate once).
    public static func connect(_ url: String, password: String? = nil, logger: Logger) async throws -> PostgresKeyStore {
        var settings = try Settings(url)
        if let password { settings.password = password }
        let location = settings.location
        do {
            let connection = try await PostgresConnection.connect(configuration: try settings.connectionConfiguration(), id: 0, logger: logger)
            try await connection.close()
        } catch {
            throw PostgresStoreError("cannot connect to \(location): \(Self.describe(error))")
        }
        let store = PostgresKeyStore(client: PostgresClient(configuration: settings.clientConfiguration, backgroundLogger: logger), location: location, logger: logger)
        do {
            try await store.migrate()
        } catch {
            await store.shutdown()
            throw PostgresStoreError("cannot prepare the schema at \(location): \(Self.describe(error))")
        }
        return store
    }

    /// Closes the pool.
    public func shutdown() async {
        self.runner.cancel()
        await self.runner.value
    }

    /// What a `postgres://` URL says.
    struct Settings {
        var host: String, port: Int, user: String, password: String?, database: String, sslMode: String

        init(_ url: String) throws {
            guard let components = URLComponents(string: url), ["postgres", "postgresql"].contains(components.scheme?.lowercased() ?? ""),
                  let host = components.host, !host.isEmpty, let user = components.user, !user.isEmpty else {
                throw PostgresStoreError("a PostgreSQL store is postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE, not \(PostgresKeyStore.redacted(url))")
            }
            let database = String(components.path.drop { $0 == "/" })
            self.host = host
            self.port = components.port ?? 5432
            self.user = user
            self.password = components.password ?? ProcessInfo.processInfo.environment["PGPASSWORD"]
            self.database = database.isEmpty ? user : database
            self.sslMode = components.queryItems?.first(where: { $0.name == "sslmode" })?.value ?? "prefer"
            guard ["disable", "prefer", "require"].contains(self.sslMode) else {
                throw PostgresStoreError("unsupported sslmode \(self.sslMode): use disable, prefer or require")
            }
        }

        var location: String { "postgres://\(self.user)@\(self.host):\(self.port)/\(self.database)" }

        var clientConfiguration: PostgresClient.Configuration {
            let tls: PostgresClient.Configuration.TLS = switch self.sslMode {
            case "disable": .disable
            case "require": .require(.makeClientConfiguration())
            default: .prefer(.makeClientConfiguration())
            }
            var configuration = PostgresClient.Configuration(host: self.host, port: self.port, username: self.user, password: self.password, database: self.database, tls: tls)
            configuration.options.connectTimeout = PostgresKeyStore.connectTimeout
            configuration.options.maximumConnections = 16
            return configuration
        }

        func connectionConfiguration() throws -> PostgresConnection.Configuration {
            let tls: PostgresConnection.Configuration.TLS = switch self.sslMode {
            case "disable": .disable
            case "require": .require(try .init(configuration: .makeClientConfiguration()))
            default: .prefer(try .init(configuration: .makeClientConfiguration()))
            }
            var configuration = PostgresConnection.Configuration(host: self.host, port: self.port, username: self.user, password: self.password, database: self.database, tls: tls)
            configuration.options.connectTimeout = .seconds(PostgresKeyStore.connectTimeout.components.seconds)
            return configuration
        }
    }

    /// `url` with its password, if any, replaced by `***`.
    public static func redacted(_ url: String) -> String {
        guard var components = URLComponents(string: url) else { return "the given URL" }
        if components.password != nil { components.password = "***" }
        return components.string ?? "the given URL"
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] { return message }
            return "\(error.code)"
        }
        return "\(error)"
    }

    // MARK: Schema

    private static let migrations: [[String]] = [
        [
            "CREATE TABLE users (id BIGSERIAL PRIMARY KEY, name TEXT NOT NULL UNIQUE, created_at BIGINT NOT NULL)",
            """
            CREATE TABLE keys (
                id BIGSERIAL PRIMARY KEY,
                user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                algorithm TEXT NOT NULL, blob BYTEA NOT NULL, fingerprint TEXT NOT NULL, comment TEXT NOT NULL DEFAULT '',
                is_certificate_authority BOOLEAN NOT NULL DEFAULT FALSE, principals TEXT, expires_at BIGINT,
                created_at BIGINT NOT NULL, last_used_on BIGINT, revoked_at BIGINT,
                UNIQUE (user_id, fingerprint))
            """,
            "CREATE INDEX keys_by_user ON keys (user_id) WHERE revoked_at IS NULL",
            "CREATE INDEX keys_by_fingerprint ON keys (fingerprint) WHERE revoked_at IS NULL",
            "CREATE TABLE nonces (nonce BYTEA PRIMARY KEY, expires_at BIGINT NOT NULL)",
            "CREATE INDEX nonces_by_expiry ON nonces (expires_at)",
            "CREATE TABLE jwks_trust (user_id BIGINT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE, url TEXT NOT NULL, created_at BIGINT NOT NULL)",
        ],
    ]

    private func migrate() async throws {
        // Gateways starting together wait for each other's migration here: a generous deadline.
        try await self.deadline(Self.migrationTimeout) {
            try await self.client.withTransaction(logger: self.logger) { connection in
                try await connection.query("SELECT pg_advisory_xact_lock(7243003)", logger: self.logger)
                try await connection.query("CREATE TABLE IF NOT EXISTS crtauth_schema (version INTEGER NOT NULL)", logger: self.logger)
                var current = 0
                for try await version in try await connection.query("SELECT coalesce(max(version), 0) FROM crtauth_schema", logger: self.logger).decode(Int.self) {
                    current = version
                }
                for (index, statements) in Self.migrations.enumerated() where index + 1 > current {
                    for statement in statements { try await connection.query(PostgresQuery(unsafeSQL: statement), logger: self.logger) }
                    try await connection.query("INSERT INTO crtauth_schema (version) VALUES (\(index + 1))", logger: self.logger)
                }
            }
        }
    }

    /// Runs `body` within `timeout` (answering at the deadline even if the query has not ended).
    private func deadline<T: Sendable>(_ timeout: Duration = PostgresKeyStore.operationTimeout, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await answer(within: timeout, timedOut: { PostgresStoreError("no answer from the database within \(timeout)") }, body)
    }

    // MARK: KeyProvider

    public func keys(for username: String) async throws -> KeyLookup {
        struct KeyRow: Sendable { var blob: ByteBuffer?, isCertificateAuthority: Bool?, principals: String?, expiresAt: Int64? }
        let rows: [KeyRow]
        do {
            rows = try await self.deadline {
                var rows: [KeyRow] = []
                let query: PostgresQuery = """
                    SELECT k.blob, k.is_certificate_authority, k.principals, k.expires_at FROM users u
                    LEFT JOIN keys k ON k.user_id = u.id AND k.revoked_at IS NULL
                    WHERE u.name = \(username) ORDER BY k.id LIMIT \(Self.maximumKeysPerUser)
                    """
                for try await (blob, authority, principals, expiresAt) in try await self.client.query(query, logger: self.logger).decode((ByteBuffer?, Bool?, String?, Int64?).self) {
                    rows.append(KeyRow(blob: blob, isCertificateAuthority: authority, principals: principals, expiresAt: expiresAt))
                }
                return rows
            }
        } catch {
            throw AuthCoreError(.keyProvider, "the PostgreSQL key store failed: \(Self.describe(error))")
        }
        guard !rows.isEmpty else { return .noSuchUser }
        let keys = rows.compactMap { row -> UserKey? in
            guard let blob = row.blob, let key = self.parsed.key(Array(buffer: blob)) else { return nil }
            return UserKey(
                key: key, isCertificateAuthority: row.isCertificateAuthority ?? false,
                expiresAt: row.expiresAt.flatMap { UInt64(exactly: $0) },
                principals: row.principals.map { $0.split(separator: ",").map(String.init) })
        }
        return keys.isEmpty ? .refused(reason: "the user has no active keys") : .keys(keys)
    }

    /// Records the use in the background, at most once a minute per key.
    public func keyUsed(_ key: SSHPublicKey, by username: String, at time: UInt64) {
        guard self.lastUse.isDue(key, by: username, at: time) else { return }
        let fingerprint = key.sha256Fingerprint
        Task { await self.recordUse(fingerprint: fingerprint, by: username, at: time) }
    }

    /// Writes `last_used_on` now (best effort: a failure never fails an authentication).
    public func recordUse(fingerprint: String, by username: String, at time: UInt64) async {
        let stamp = Int64(clamping: time)
        _ = try? await self.deadline {
            try await self.client.query("""
                UPDATE keys SET last_used_on = \(stamp) WHERE fingerprint = \(fingerprint) AND revoked_at IS NULL
                AND user_id = (SELECT id FROM users WHERE name = \(username))
                AND (last_used_on IS NULL OR last_used_on <= \(stamp - Int64(LastUseThrottle.resolution)))
                """, logger: self.logger)
        }
    }

    public func owner(ofFingerprint fingerprint: String, now: UInt64) async throws -> (username: String, key: SSHPublicKey)? {
        let stamp = Int64(clamping: now)
        let rows: [(String, ByteBuffer)]
        do {
            rows = try await self.deadline {
                var rows: [(String, ByteBuffer)] = []
                let query: PostgresQuery = """
                    SELECT u.name, k.blob FROM keys k JOIN users u ON u.id = k.user_id
                    WHERE k.fingerprint = \(fingerprint) AND k.revoked_at IS NULL AND NOT k.is_certificate_authority
                      AND (k.expires_at IS NULL OR k.expires_at > \(stamp)) LIMIT 2
                    """
                for try await row in try await self.client.query(query, logger: self.logger).decode((String, ByteBuffer).self) { rows.append(row) }
                return rows
            }
        } catch {
            throw AuthCoreError(.keyProvider, "the PostgreSQL key store failed: \(Self.describe(error))")
        }
        guard rows.count == 1, let key = self.parsed.key(Array(buffer: rows[0].1)) else { return nil }
        return (rows[0].0, key)
    }

    public func jwksURL(for username: String) async throws -> String? {
        do {
            return try await self.deadline {
                let query: PostgresQuery = "SELECT t.url FROM jwks_trust t JOIN users u ON u.id = t.user_id WHERE u.name = \(username)"
                for try await url in try await self.client.query(query, logger: self.logger).decode(String.self) { return url }
                return nil
            }
        } catch {
            throw AuthCoreError(.keyProvider, "the PostgreSQL key store failed: \(Self.describe(error))")
        }
    }

    // MARK: NonceStore

    /// Atomic in PostgreSQL: of two copies of a credential at any number of gateways, exactly
    /// one is accepted. Expired rows are deleted as inserts go by.
    public func insertIfAbsent(_ nonce: String, expiresAt: UInt64, now: UInt64) async throws -> Bool {
        let expiry = Int64(clamping: expiresAt), current = Int64(clamping: now)
        let sweep = self.inserts.withLock { count -> Bool in
            count += 1
            return count % Self.sweepInterval == 0
        }
        do {
            return try await self.deadline {
                if sweep { try await self.client.query("DELETE FROM nonces WHERE expires_at <= \(current)", logger: self.logger) }
                let query: PostgresQuery = """
                    INSERT INTO nonces (nonce, expires_at) VALUES (\(ByteBuffer(string: nonce)), \(expiry))
                    ON CONFLICT (nonce) DO UPDATE SET expires_at = EXCLUDED.expires_at WHERE nonces.expires_at <= \(current)
                    RETURNING 1
                    """
                var inserted = false
                for try await _ in try await self.client.query(query, logger: self.logger).decode(Int32.self) { inserted = true }
                return inserted
            }
        } catch {
            throw AuthCoreError(.nonceStore, "the PostgreSQL nonce store failed: \(Self.describe(error))")
        }
    }

    // MARK: Administration

    /// Adds keys for users in one transaction; returns what was added. A key the user already
    /// has is updated (comment, options) and un-revoked.
    @discardableResult
    public func add(_ entries: [(username: String, key: AuthorizedKey)], now: UInt64) async throws -> [StoredKey] {
        var prepared: [(String, AuthorizedKey, Int64?)] = []
        for (username, entry) in entries {
            try Self.checkUsername(username)
            let expiry: UInt64?
            do { expiry = try entry.expiryTime() } catch { throw PostgresStoreError("key \(entry.key.sha256Fingerprint): \(error)") }
            prepared.append((username, entry, expiry.map { Int64(clamping: $0) }))
        }
        let stamp = Int64(clamping: now)
        let rows = prepared
        try await self.administer {
            try await self.client.withTransaction(logger: self.logger) { connection in
                for (username, entry, expiry) in rows {
                    try await connection.query("INSERT INTO users (name, created_at) VALUES (\(username), \(stamp)) ON CONFLICT (name) DO NOTHING", logger: self.logger)
                    var count = 0
                    for try await n in try await connection.query("""
                        SELECT count(*) FROM keys WHERE revoked_at IS NULL AND fingerprint <> \(entry.key.sha256Fingerprint)
                        AND user_id = (SELECT id FROM users WHERE name = \(username))
                        """, logger: self.logger).decode(Int.self) { count = n }
                    guard count < Self.maximumKeysPerUser else { throw PostgresStoreError("\(username) already has \(Self.maximumKeysPerUser) keys") }
                    try await connection.query("""
                        INSERT INTO keys (user_id, algorithm, blob, fingerprint, comment, is_certificate_authority, principals, expires_at, created_at)
                        SELECT id, \(entry.key.type.name), \(ByteBuffer(bytes: entry.key.wireBlob)), \(entry.key.sha256Fingerprint), \(entry.comment),
                               \(entry.isCertificateAuthority), \(entry.principals?.joined(separator: ",")), \(expiry), \(stamp)
                        FROM users WHERE name = \(username)
                        ON CONFLICT (user_id, fingerprint) DO UPDATE SET
                            comment = EXCLUDED.comment, is_certificate_authority = EXCLUDED.is_certificate_authority,
                            principals = EXCLUDED.principals, expires_at = EXCLUDED.expires_at, revoked_at = NULL
                        """, logger: self.logger)
                }
            }
        }
        return try await self.list().filter { stored in prepared.contains { $0.0 == stored.username && $0.1.key == stored.key } }
    }

    /// The active keys, of one user or of everyone, ordered by user and age.
    public func list(username: String? = nil) async throws -> [StoredKey] {
        try await self.administer {
            var keys: [StoredKey] = []
            let query: PostgresQuery = """
                SELECT u.name, k.blob, k.comment, k.is_certificate_authority, k.principals, k.expires_at, k.created_at, k.last_used_on
                FROM keys k JOIN users u ON u.id = k.user_id
                WHERE k.revoked_at IS NULL AND (\(username)::TEXT IS NULL OR u.name = \(username))
                ORDER BY u.name, k.id
                """
            let rows = try await self.client.query(query, logger: self.logger).decode((String, ByteBuffer, String, Bool, String?, Int64?, Int64, Int64?).self)
            for try await (name, blob, comment, authority, principals, expiresAt, createdAt, lastUsed) in rows {
                guard let key = try? SSHPublicKey(wireBlob: Array(buffer: blob)) else { continue }
                keys.append(StoredKey(
                    username: name, key: key, comment: comment, isCertificateAuthority: authority,
                    principals: principals.map { $0.split(separator: ",").map(String.init) },
                    expiresAt: expiresAt.flatMap { UInt64(exactly: $0) }, createdAt: UInt64(clamping: createdAt),
                    lastUsedAt: lastUsed.flatMap { UInt64(exactly: $0) }))
            }
            return keys
        }
    }

    /// Revokes `username`'s key with this `SHA256:` fingerprint; false when there is none.
    public func revoke(username: String, fingerprint: String, now: UInt64) async throws -> Bool {
        try await self.administer {
            var revoked = false
            let query: PostgresQuery = """
                UPDATE keys SET revoked_at = \(Int64(clamping: now)) WHERE fingerprint = \(fingerprint) AND revoked_at IS NULL
                AND user_id = (SELECT id FROM users WHERE name = \(username)) RETURNING 1
                """
            for try await _ in try await self.client.query(query, logger: self.logger).decode(Int32.self) { revoked = true }
            return revoked
        }
    }

    /// Trusts the JWKS at `url` (http or https) for `username`'s JWTs, replacing any other.
    public func trustJWKS(username: String, url: String, now: UInt64) async throws {
        try Self.checkUsername(username)
        guard let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased(), scheme == "http" || scheme == "https", parsed.host != nil else {
            throw PostgresStoreError("a JWKS URL is http:// or https://, not \(url)")
        }
        let stamp = Int64(clamping: now)
        try await self.administer {
            try await self.client.withTransaction(logger: self.logger) { connection in
                try await connection.query("INSERT INTO users (name, created_at) VALUES (\(username), \(stamp)) ON CONFLICT (name) DO NOTHING", logger: self.logger)
                try await connection.query("""
                    INSERT INTO jwks_trust (user_id, url, created_at) SELECT id, \(url), \(stamp) FROM users WHERE name = \(username)
                    ON CONFLICT (user_id) DO UPDATE SET url = EXCLUDED.url, created_at = EXCLUDED.created_at
                    """, logger: self.logger)
            }
        }
    }

    /// Stops trusting `username`'s JWKS; false when none was trusted.
    public func distrustJWKS(username: String) async throws -> Bool {
        try await self.administer {
            var removed = false
            let query: PostgresQuery = "DELETE FROM jwks_trust WHERE user_id = (SELECT id FROM users WHERE name = \(username)) RETURNING 1"
            for try await _ in try await self.client.query(query, logger: self.logger).decode(Int32.self) { removed = true }
            return removed
        }
    }

    /// Throws when the database cannot be reached (for health checks).
    public func checkHealth() async throws {
        _ = try await self.administer(timeout: Self.operationTimeout) { try await self.client.query("SELECT 1", logger: self.logger) }
    }

    /// Administration (`crtauth keys`) waits longer than a request would.
    private func administer<T: Sendable>(timeout: Duration = .seconds(30), _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        do {
            return try await self.deadline(timeout, body)
        } catch let error as PostgresStoreError {
            throw error
        } catch {
            throw PostgresStoreError("the PostgreSQL store at \(self.location) failed: \(Self.describe(error))")
        }
    }

    static func checkUsername(_ username: String) throws {
        guard UsernameRule.isValid(username) else { throw PostgresStoreError(UsernameRule.requirement) }
    }
}

/// Why the PostgreSQL store refused or failed (never with the password).
public struct PostgresStoreError: Error, CustomStringConvertible, Sendable {
    public let message: String
    init(_ message: String) { self.message = message }
    public var description: String { self.message }
}
