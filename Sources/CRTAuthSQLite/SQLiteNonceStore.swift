import AuthCore
import Foundation
import GRDB
import Synchronization

/// Replay nonces in the SQLite database (the key store's file), shared by every process that
/// opens it. Insert-if-absent is one statement, atomic in SQLite: of two copies of a credential,
/// in one process or two, exactly one is accepted. Expired rows are deleted as inserts go by.
public final class SQLiteNonceStore: NonceStore, Sendable {
    /// Expired rows are deleted once per this many inserts.
    static let sweepInterval = 1024
    private let pool: DatabasePool
    private let inserts = Mutex(0)

    public init(path: String) throws {
        self.pool = try SQLiteKeyStore.open(path: path)
    }

    /// Nonces are stored as the blob of their UTF-8 bytes: any byte, NUL included, counts.
    public func insertIfAbsent(_ nonce: String, expiresAt: UInt64, now: UInt64) async throws -> Bool {
        guard let expiry = Int64(exactly: expiresAt), let current = Int64(exactly: now) else {
            throw AuthCoreError(.nonceStore, "a time out of range")
        }
        let sweep = self.inserts.withLock { count -> Bool in
            count += 1
            return count % Self.sweepInterval == 0
        }
        do {
            return try await self.pool.write { db in
                if sweep { try db.execute(sql: "DELETE FROM nonces WHERE expires_at <= ?", arguments: [current]) }
                // Inserts a new nonce, or takes over an expired one; a live one is left alone.
                try db.execute(sql: """
                    INSERT INTO nonces (nonce, expires_at) VALUES (?, ?)
                    ON CONFLICT (nonce) DO UPDATE SET expires_at = excluded.expires_at WHERE nonces.expires_at <= ?
                    """, arguments: [Data(nonce.utf8), expiry, current])
                return db.changesCount == 1
            }
        } catch {
            throw AuthCoreError(.nonceStore, "the SQLite nonce store failed: \(SQLiteKeyStoreError.describe(error))")
        }
    }
}
