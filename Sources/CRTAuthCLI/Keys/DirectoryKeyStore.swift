import CRTAuth
import CRTAuthSQLite
import Foundation
import SSHKeys

/// `crtauth keys` on a crtauth key directory (`<dir>/<user>_id_rsa.pub`): one RSA key per user,
/// as Python and Java crtauth servers read it. Files are replaced atomically (write, fsync,
/// rename), so a reader never sees half a key.
struct DirectoryKeyStore: KeyAdministration {
    let directory: String

    func file(for username: String) throws -> String {
        guard DirectoryKeyProvider.isUsableFileName(username) else {
            throw CLIFailure(message: "'\(username)' cannot be a file name in a key directory (letters, digits, . _ - @ only)")
        }
        return self.directory + "/" + username + "_id_rsa.pub"
    }

    func add(_ entries: [(username: String, key: AuthorizedKey)], now: UInt64) throws -> [StoredKey] {
        var byUser: [String: AuthorizedKey] = [:]
        for (username, entry) in entries {
            guard entry.key.type == .rsa, entry.options.isEmpty else {
                throw CLIFailure(message: "a crtauth key directory holds plain RSA keys only (\(entry.key.type.name)\(entry.options.isEmpty ? "" : " with options") given); use an sqlite: store for other keys")
            }
            if let other = byUser[username], other.key != entry.key {
                throw CLIFailure(message: "a crtauth key directory holds one key per user; \(username) was given two")
            }
            byUser[username] = entry
        }
        // Check everything before writing anything.
        let files = try byUser.keys.sorted().map { ($0, try self.file(for: $0)) }
        for (username, file) in files {
            if let existing = try? String(contentsOfFile: file, encoding: .utf8), let key = try? SSHPublicKey(openSSHLine: existing.trimmingCharacters(in: .whitespacesAndNewlines)), key != byUser[username]?.key {
                throw CLIFailure(message: "\(username) already has key \(key.sha256Fingerprint) (one key per user in a crtauth key directory); remove it first")
            }
        }
        for (username, file) in files {
            guard let entry = byUser[username] else { continue }
            try atomicWrite(entry.key.openSSHLine(comment: entry.comment) + "\n", to: file)
        }
        return try self.list(username: nil).filter { stored in byUser[stored.username]?.key == stored.key }
    }

    func list(username: String?) throws -> [StoredKey] {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: self.directory) } catch {
            throw CLIFailure(message: "cannot read the key directory \(self.directory): \(error.localizedDescription)")
        }
        return names.sorted().compactMap { name -> StoredKey? in
            guard name.hasSuffix("_id_rsa.pub") else { return nil }
            let user = String(name.dropLast("_id_rsa.pub".count))
            if let username, username != user { return nil }
            let path = self.directory + "/" + name
            guard let text = try? String(contentsOfFile: path, encoding: .utf8),
                  let line = text.split(separator: "\n").first(where: { !$0.hasPrefix("#") && !$0.trimmingCharacters(in: .whitespaces).isEmpty }),
                  let entry = try? AuthorizedKey(line: line) else { return nil }
            let created = (try? FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date).map { UInt64(max(0, $0.timeIntervalSince1970)) } ?? 0
            return StoredKey(username: user, key: entry.key, comment: entry.comment, createdAt: created)
        }
    }

    func revoke(username: String, fingerprint: String, now: UInt64) throws -> Bool {
        let file = try self.file(for: username)
        guard let stored = try self.list(username: username).first, stored.fingerprint == fingerprint else { return false }
        _ = stored
        guard unlink(file) == 0 else { throw CLIFailure(message: "cannot remove \(file): \(String(cString: strerror(errno)))") }
        return true
    }
}

/// Writes `text` to `path` so that readers see the old or the new file, never a mix.
func atomicWrite(_ text: String, to path: String) throws {
    let temporary = path + ".tmp-\(getpid())"
    let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw CLIFailure(message: "cannot write \(temporary): \(String(cString: strerror(errno)))") }
    let bytes = Array(text.utf8)
    let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    let synced = fsync(fd)
    close(fd)
    guard written == bytes.count, synced == 0, rename(temporary, path) == 0 else {
        let reason = String(cString: strerror(errno))
        unlink(temporary)
        throw CLIFailure(message: "cannot write \(path): \(reason)")
    }
}
