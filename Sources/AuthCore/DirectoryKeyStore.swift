import Foundation
import SSHKeys

/// crtauth's key directory, as Python's and Java's `FileKeyProvider` read it:
/// `<directory>/<username>_id_rsa.pub`, one plain RSA key per user (the first key line of the
/// file). Usernames that could escape the directory are refused (not faked). Files are replaced
/// atomically (write, fsync, rename), so a reader never sees half a key; removing a key
/// removes its file.
public struct DirectoryKeyStore: KeyStore {
    public let directory: String
    static let fileSuffix = "_id_rsa.pub"

    public init(directory: String) { self.directory = directory }

    /// Whether `username` may name a file in the directory (it cannot escape it).
    public static func isUsableFileName(_ username: String) -> Bool { isPathSafeUsername(username) }

    public func keys(for username: String) async throws -> KeyLookup {
        guard isPathSafeUsername(username) else { return .refused(reason: "username not allowed in a file name") }
        guard let text = try readKeyFile(self.path(username)) else { return .noSuchUser }
        // A plain key line, as the Python and Java servers read it: options (from=, …) cannot be honoured here.
        guard let entry = Self.firstKey(in: text), entry.options.isEmpty else { return .refused(reason: "the key file holds no valid public key") }
        return .keys([UserKey(key: entry.key)])
    }

    public func checkHealth() async throws {
        guard access(self.directory, R_OK | X_OK) == 0 else {
            throw AuthCoreError(.keyProvider, "cannot read the key directory \(self.directory): \(String(cString: strerror(errno)))")
        }
    }

    public func add(_ entries: [(username: String, key: AuthorizedKey)], now: UInt64) throws -> [StoredKey] {
        var byUser: [String: AuthorizedKey] = [:]
        for (username, entry) in entries {
            guard entry.key.type == .rsa, entry.options.isEmpty else {
                throw AuthCoreError(.invalidInput, "a crtauth key directory holds plain RSA keys only (\(entry.key.type.name)\(entry.options.isEmpty ? "" : " with options") given); use an sqlite: store for other keys")
            }
            if let other = byUser[username], other.key != entry.key {
                throw AuthCoreError(.invalidInput, "a crtauth key directory holds one key per user; \(username) was given two")
            }
            byUser[username] = entry
        }
        // Check everything before writing anything.
        let files = try byUser.keys.sorted().map { ($0, try self.file(for: $0)) }
        for (username, file) in files {
            if let text = try? readKeyFile(file), let existing = Self.firstKey(in: text), existing.key != byUser[username]?.key {
                throw AuthCoreError(.invalidInput, "\(username) already has key \(existing.key.sha256Fingerprint) (one key per user in a crtauth key directory); remove it first")
            }
        }
        for (username, file) in files {
            guard let entry = byUser[username] else { continue }
            try Self.atomicWrite(entry.key.openSSHLine(comment: entry.comment) + "\n", to: file)
        }
        return try self.list(username: nil).filter { stored in byUser[stored.username]?.key == stored.key }
    }

    public func list(username: String?) throws -> [StoredKey] {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: self.directory) } catch {
            throw AuthCoreError(.keyProvider, "cannot read the key directory \(self.directory): \(error.localizedDescription)")
        }
        return names.sorted().compactMap { name -> StoredKey? in
            guard name.hasSuffix(Self.fileSuffix) else { return nil }
            let user = String(name.dropLast(Self.fileSuffix.count))
            if let username, username != user { return nil }
            let path = self.directory + "/" + name
            guard let text = try? readKeyFile(path), let entry = Self.firstKey(in: text) else { return nil }
            var info = stat()
            let created = stat(path, &info) == 0 ? UInt64(max(0, info.st_mtim.tv_sec)) : 0
            return StoredKey(username: user, key: entry.key, comment: entry.comment, createdAt: created)
        }
    }

    public func revoke(username: String, fingerprint: String, now: UInt64) throws -> Bool {
        let file = try self.file(for: username)
        guard try self.list(username: username).first?.fingerprint == fingerprint else { return false }
        guard unlink(file) == 0 else { throw AuthCoreError(.keyProvider, "cannot remove \(file): \(String(cString: strerror(errno)))") }
        return true
    }

    func path(_ username: String) -> String { self.directory + "/" + username + Self.fileSuffix }

    func file(for username: String) throws -> String {
        guard isPathSafeUsername(username) else {
            throw AuthCoreError(.invalidInput, "'\(username)' cannot be a file name in a key directory (letters, digits, . _ - @ only)")
        }
        return self.path(username)
    }

    /// The first key line of a key file (comments and blank lines skipped).
    static func firstKey(in text: String) -> AuthorizedKey? {
        guard let line = text.split(separator: "\n").first(where: { !$0.trimmingCharacters(in: .whitespaces).isEmpty && !$0.hasPrefix("#") }) else { return nil }
        return try? AuthorizedKey(line: line)
    }

    /// Writes `text` to `path` so that readers see the old or the new file, never a mix.
    static func atomicWrite(_ text: String, to path: String) throws {
        let temporary = path + ".tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw AuthCoreError(.keyProvider, "cannot write \(temporary): \(String(cString: strerror(errno)))") }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd)
        close(fd)
        guard written == bytes.count, synced == 0, rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw AuthCoreError(.keyProvider, "cannot write \(path): \(reason)")
        }
    }
}

@available(*, deprecated, renamed: "DirectoryKeyStore")
public typealias DirectoryKeyProvider = DirectoryKeyStore
