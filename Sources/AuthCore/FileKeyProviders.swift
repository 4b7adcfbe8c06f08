import Foundation
import SSHKeys

/// Usernames that are safe to put into a file path: no `/`, no leading `.`, no NUL, printable
/// ASCII letters, digits, `.`, `_`, `-`, `@` only.
func isPathSafeUsername(_ username: String) -> Bool {
    guard !username.isEmpty, username.utf8.count <= UsernameRule.maximumLength, !username.hasPrefix(".") else { return false }
    return username.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x2E || $0 == 0x5F || $0 == 0x2D || $0 == 0x40 }
}

/// Largest key file we read.
let maximumKeyFileLength = 1024 * 1024

/// Reads a small file; `nil` when it does not exist.
func readKeyFile(_ path: String) throws -> String? {
    guard let handle = FileHandle(forReadingAtPath: path) else {
        if errno == ENOENT || errno == ENOTDIR { return nil }
        throw AuthCoreError(.keyProvider, "cannot read \(path): \(String(cString: strerror(errno)))")
    }
    defer { try? handle.close() }
    let data = handle.readData(ofLength: maximumKeyFileLength + 1)
    guard data.count <= maximumKeyFileLength else {
        throw AuthCoreError(.keyProvider, "\(path) is larger than \(maximumKeyFileLength) bytes")
    }
    return String(decoding: data, as: UTF8.self)
}

/// sshd's `AuthorizedKeysFile`: a path pattern with `%u` (username), `%h` (home directory) and
/// `%%`. Options honoured: `expiry-time`, `cert-authority` with `principals=`. Lines with
/// `from=` are skipped (the protocol does not carry the client address to check them against:
/// failing closed). Other options (`command=`, `restrict`, …) concern shells and are ignored.
public struct AuthorizedKeysFileProvider: KeyProvider {
    public let pattern: String

    public init(pattern: String) { self.pattern = pattern }

    /// The file for `username`, or nil when the user has no home directory.
    func path(for username: String) -> String? {
        var out = ""
        var chars = self.pattern.makeIterator()
        while let c = chars.next() {
            guard c == "%" else { out.append(c); continue }
            switch chars.next() {
            case "u": out += username
            case "h":
                guard let home = homeDirectory(of: username) else { return nil }
                out += home
            case "%": out += "%"
            default: return nil
            }
        }
        return out
    }

    public func keys(for username: String) async throws -> KeyLookup {
        guard isPathSafeUsername(username) else { return .refused(reason: "username not allowed in a file name") }
        guard let path = self.path(for: username), let text = try readKeyFile(path) else { return .noSuchUser }
        var keys: [UserKey] = []
        for line in text.split(separator: "\n") {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            // A malformed line is skipped, as sshd does, rather than locking the user out.
            guard let entry = try? AuthorizedKey(line: trimmed), entry.fromPatterns == nil else { continue }
            let expiry: UInt64?
            do { expiry = try entry.expiryTime() } catch { continue }
            keys.append(UserKey(key: entry.key, isCertificateAuthority: entry.isCertificateAuthority, expiresAt: expiry, principals: entry.principals))
        }
        return keys.isEmpty ? .refused(reason: "no usable key in \(path)") : .keys(keys)
    }
}

func homeDirectory(of username: String) -> String? {
    var entry = passwd()
    var result: UnsafeMutablePointer<passwd>?
    var buffer = [CChar](repeating: 0, count: 16 * 1024)
    guard getpwnam_r(username, &entry, &buffer, buffer.count, &result) == 0, result != nil, let dir = entry.pw_dir else { return nil }
    return String(cString: dir)
}
