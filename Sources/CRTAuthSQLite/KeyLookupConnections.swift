import Foundation
import GRDB
import GRDBSQLite
import Synchronization

/// Connections of their own for the lookups every authentication makes (a user's keys for a
/// handshake or a JWT, a key's owner for an RFC 9421 keyid), each with its statements
/// prepared, used on the caller's thread. A lookup is one indexed read of a local file; GRDB's
/// pool hands every read to a dispatch queue and wraps it in a transaction, which in a profile
/// of the gateway's handshakes cost 18 % of the process against 1 % for SQLite's own work.
/// Nor may a lookup wait for one of GRDB's readers on the caller's thread: under 256
/// connections of the soak, both threads of Swift's cooperative pool blocked there while the
/// readers were held by async reads that needed one of those threads to finish, and the gateway
/// stopped answering. These connections never wait for one another (one more is opened when
/// none is idle). Written against SQLite's C API for those reasons; every other statement of
/// the store goes through GRDB.
final class KeyLookupConnections: Sendable {
    /// Connections kept for reuse; more may be open while lookups run at once.
    static let maximumIdle = 8
    /// How long a lookup waits for a lock (a checkpoint, say) before it fails.
    static let busyTimeoutMilliseconds: Int32 = 5000

    /// A user's active keys, oldest first. A user without one gives one row of NULLs; an
    /// unknown user none. One statement, so one snapshot of the database.
    static let sql = """
        SELECT keys.blob, keys.is_certificate_authority, keys.principals, keys.expires_at
        FROM users LEFT JOIN keys ON keys.user_id = users.id AND keys.revoked_at IS NULL
        WHERE users.name = ?1 ORDER BY keys.id LIMIT ?2
        """

    /// The user and blob of an active, non-CA, unexpired key with a fingerprint; two rows
    /// would mean the fingerprint is ambiguous.
    static let ownerSQL = """
        SELECT users.name, keys.blob FROM keys JOIN users ON users.id = keys.user_id
        WHERE keys.fingerprint = ?1 AND keys.revoked_at IS NULL
          AND keys.is_certificate_authority = 0 AND (keys.expires_at IS NULL OR keys.expires_at > ?2)
        LIMIT 2
        """

    struct Row {
        var blob: Data, isCertificateAuthority: Bool, principals: String?, expiresAt: Int64?
    }

    private let path: String
    private let idle = Mutex<[Connection]>([])

    init(path: String) { self.path = path }

    /// The rows for `username` (nil: no such user; empty: no active key), at most `limit`.
    func keyRows(of username: String, limit: Int) throws -> [Row]? {
        try self.withConnection { try $0.keyRows(of: username, limit: limit) }
    }

    /// The owners of the active key with `fingerprint` at `now` (at most two).
    func owners(ofFingerprint fingerprint: String, now: Int64) throws -> [(name: String, blob: Data)] {
        try self.withConnection { try $0.owners(ofFingerprint: fingerprint, now: now) }
    }

    private func withConnection<T>(_ body: (Connection) throws -> T) throws -> T {
        let connection = try self.idle.withLock { $0.popLast() } ?? Connection(path: self.path)
        let result = try body(connection)
        // Kept only after a lookup that worked: a connection that failed is closed.
        self.idle.withLock { if $0.count < Self.maximumIdle { $0.append(connection) } }
        return result
    }

    /// One connection and its prepared statements. Used by one thread at a time: a lookup takes
    /// it out of ``KeyLookupConnections/idle`` and puts it back when done.
    final class Connection: @unchecked Sendable {
        private let database: OpaquePointer
        private let statement: OpaquePointer
        private let ownerStatement: OpaquePointer

        init(path: String) throws {
            var database: OpaquePointer?
            let opened = sqlite3_open_v2(path, &database, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nil)
            guard opened == SQLITE_OK, let database else {
                let message = database.map { String(cString: sqlite3_errmsg($0)) }
                sqlite3_close(database)
                throw DatabaseError(resultCode: ResultCode(rawValue: opened), message: message)
            }
            var statement: OpaquePointer?, ownerStatement: OpaquePointer?
            let prepared = sqlite3_busy_timeout(database, KeyLookupConnections.busyTimeoutMilliseconds) == SQLITE_OK
                && sqlite3_exec(database, "PRAGMA query_only = 1", nil, nil, nil) == SQLITE_OK
                && sqlite3_prepare_v3(database, KeyLookupConnections.sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil) == SQLITE_OK
                && sqlite3_prepare_v3(database, KeyLookupConnections.ownerSQL, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &ownerStatement, nil) == SQLITE_OK
            guard prepared, let statement, let ownerStatement else {
                let error = DatabaseError(resultCode: ResultCode(rawValue: sqlite3_errcode(database)), message: String(cString: sqlite3_errmsg(database)))
                sqlite3_finalize(statement)
                sqlite3_finalize(ownerStatement)
                sqlite3_close(database)
                throw error
            }
            self.database = database
            self.statement = statement
            self.ownerStatement = ownerStatement
        }

        deinit {
            sqlite3_finalize(self.statement)
            sqlite3_finalize(self.ownerStatement)
            sqlite3_close(self.database)
        }

        func keyRows(of username: String, limit: Int) throws -> [Row]? {
            try self.withBound(username, to: self.statement) {
                guard sqlite3_bind_int64(self.statement, 2, Int64(limit)) == SQLITE_OK else { throw self.error() }
                var rows: [Row]?
                while true {
                    switch sqlite3_step(self.statement) {
                    case SQLITE_ROW:
                        var found = rows ?? []
                        if let row = self.row() { found.append(row) }
                        rows = found
                    case SQLITE_DONE:
                        return rows
                    default:
                        throw self.error()
                    }
                }
            }
        }

        func owners(ofFingerprint fingerprint: String, now: Int64) throws -> [(name: String, blob: Data)] {
            try self.withBound(fingerprint, to: self.ownerStatement) {
                guard sqlite3_bind_int64(self.ownerStatement, 2, now) == SQLITE_OK else { throw self.error() }
                var owners: [(name: String, blob: Data)] = []
                while true {
                    switch sqlite3_step(self.ownerStatement) {
                    case SQLITE_ROW:
                        let name = sqlite3_column_text(self.ownerStatement, 0).map { String(cString: $0) } ?? ""
                        let count = Int(sqlite3_column_bytes(self.ownerStatement, 1))
                        owners.append((name, sqlite3_column_blob(self.ownerStatement, 1).map { Data(bytes: $0, count: count) } ?? Data()))
                    case SQLITE_DONE:
                        return owners
                    default:
                        throw self.error()
                    }
                }
            }
        }

        /// Runs `body` with `text` bound to the statement's first parameter, then resets the
        /// statement. The bytes are bound in place (SQLITE_STATIC: valid until the reset), not
        /// copied: SQLite's copy takes its allocator's process-wide lock, which the gateway's
        /// event loops contended for on every handshake.
        private func withBound<Result>(_ text: String, to statement: OpaquePointer, _ body: () throws -> Result) throws -> Result {
            var text = text
            return try text.withUTF8 { bytes in
                defer {
                    sqlite3_reset(statement)
                    sqlite3_clear_bindings(statement)
                }
                guard sqlite3_bind_text(statement, 1, bytes.baseAddress, Int32(bytes.count), nil) == SQLITE_OK else { throw self.error() }
                return try body()
            }
        }

        /// The current row; nil for the row of NULLs of a user without keys.
        private func row() -> Row? {
            guard sqlite3_column_type(self.statement, 0) == SQLITE_BLOB else { return nil }
            let count = Int(sqlite3_column_bytes(self.statement, 0))
            let blob = sqlite3_column_blob(self.statement, 0).map { Data(bytes: $0, count: count) } ?? Data()
            let principals = sqlite3_column_type(self.statement, 2) == SQLITE_NULL ? nil
                : sqlite3_column_text(self.statement, 2).map { String(cString: $0) }
            let expiresAt = sqlite3_column_type(self.statement, 3) == SQLITE_NULL ? nil : sqlite3_column_int64(self.statement, 3)
            return Row(blob: blob, isCertificateAuthority: sqlite3_column_int64(self.statement, 1) != 0, principals: principals, expiresAt: expiresAt)
        }

        private func error() -> DatabaseError {
            DatabaseError(resultCode: ResultCode(rawValue: sqlite3_errcode(self.database)), message: String(cString: sqlite3_errmsg(self.database)))
        }
    }
}
