import Foundation
import GRDB
import GRDBSQLite
import Synchronization

/// Connections of their own for the key lookup that every handshake makes, each with its one
/// statement prepared, used on the caller's thread. The lookup is one indexed read of a local
/// file; GRDB's pool hands every read to a dispatch queue and wraps it in a transaction, which
/// in a profile of the gateway's handshakes cost 18 % of the process against 1 % for SQLite's
/// own work. Written against SQLite's C API for that reason; every other statement of the store
/// goes through GRDB.
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

    struct Row {
        var blob: Data, isCertificateAuthority: Bool, principals: String?, expiresAt: Int64?
    }

    private let path: String
    private let idle = Mutex<[Connection]>([])

    init(path: String) { self.path = path }

    /// The rows for `username` (nil: no such user; empty: no active key), at most `limit`.
    func keyRows(of username: String, limit: Int) throws -> [Row]? {
        let connection = try self.idle.withLock { $0.popLast() } ?? Connection(path: self.path)
        let rows = try connection.keyRows(of: username, limit: limit)
        // Kept only after a lookup that worked: a connection that failed is closed.
        self.idle.withLock { if $0.count < Self.maximumIdle { $0.append(connection) } }
        return rows
    }

    /// One connection and its prepared statement. Used by one thread at a time: a lookup takes
    /// it out of ``KeyLookupConnections/idle`` and puts it back when done.
    final class Connection: @unchecked Sendable {
        private let database: OpaquePointer
        private let statement: OpaquePointer

        init(path: String) throws {
            var database: OpaquePointer?
            let opened = sqlite3_open_v2(path, &database, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nil)
            guard opened == SQLITE_OK, let database else {
                let message = database.map { String(cString: sqlite3_errmsg($0)) }
                sqlite3_close(database)
                throw DatabaseError(resultCode: ResultCode(rawValue: opened), message: message)
            }
            var statement: OpaquePointer?
            let prepared = sqlite3_busy_timeout(database, KeyLookupConnections.busyTimeoutMilliseconds) == SQLITE_OK
                ? sqlite3_exec(database, "PRAGMA query_only = 1", nil, nil, nil) == SQLITE_OK
                    ? sqlite3_prepare_v3(database, KeyLookupConnections.sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil) : SQLITE_ERROR
                : SQLITE_ERROR
            guard prepared == SQLITE_OK, let statement else {
                let error = DatabaseError(resultCode: ResultCode(rawValue: sqlite3_errcode(database)), message: String(cString: sqlite3_errmsg(database)))
                sqlite3_close(database)
                throw error
            }
            self.database = database
            self.statement = statement
        }

        deinit {
            sqlite3_finalize(self.statement)
            sqlite3_close(self.database)
        }

        func keyRows(of username: String, limit: Int) throws -> [Row]? {
            defer {
                sqlite3_reset(self.statement)
                sqlite3_clear_bindings(self.statement)
            }
            var name = username
            let bound = name.withUTF8 { bytes in
                // SQLITE_TRANSIENT: SQLite copies the bytes before this returns.
                sqlite3_bind_text(self.statement, 1, bytes.baseAddress, Int32(bytes.count), unsafeBitCast(-1, to: sqlite3_destructor_type.self))
            }
            guard bound == SQLITE_OK, sqlite3_bind_int64(self.statement, 2, Int64(limit)) == SQLITE_OK else { throw self.error() }
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
