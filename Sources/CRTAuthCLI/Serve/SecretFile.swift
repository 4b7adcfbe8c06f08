import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The gateway's HMAC secrets: a text file of base64 secrets, one per line, newest first
/// (`#` comments and blank lines ignored). The newest signs challenges and tokens; all verify,
/// so a secret is rotated by adding a line on top and removing the old one a token lifetime
/// later. Must not be readable or writable by group or others.
///
/// To share tokens with a Python crtauth server, give it the same bytes as its secret.
enum SecretFile {
    /// Bytes of a new secret.
    static let newSecretLength = 32
    /// Shortest secret accepted (HMAC keys shorter than this are guessable).
    static let minimumSecretLength = 16
    /// Most secrets in one file.
    static let maximumSecrets = 16

    /// Creates the file with one fresh secret if it does not exist (never overwrites).
    static func createIfMissing(_ path: String) throws -> Bool {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        if fd < 0 {
            if errno == EEXIST { return false }
            throw CLIFailure(message: "cannot create the secret file \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var generator = SystemRandomNumberGenerator()
        let secret = (0..<newSecretLength).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let text = "# crtauth HMAC secrets, base64, newest first. Keep this file private (mode 0600).\n" + Data(secret).base64EncodedString() + "\n"
        let written = text.utf8CString.withUnsafeBufferPointer { write(fd, $0.baseAddress, text.utf8.count) }
        guard written == text.utf8.count, fsync(fd) == 0 else {
            unlink(path)
            throw CLIFailure(message: "cannot write the secret file \(path): \(String(cString: strerror(errno)))")
        }
        return true
    }

    /// Identity of the file's current version (to notice replacement or edits).
    struct Stamp: Equatable {
        var device: UInt64, inode: UInt64, size: Int64, modified: Int, modifiedNanoseconds: Int
    }

    static func stamp(_ path: String) -> Stamp? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return Stamp(device: UInt64(info.st_dev), inode: UInt64(info.st_ino), size: Int64(info.st_size), modified: info.st_mtim.tv_sec, modifiedNanoseconds: info.st_mtim.tv_nsec)
    }

    /// Reads the secrets, refusing a file others could read.
    static func load(_ path: String) throws -> [SymmetricKey] {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw CLIFailure(message: "cannot read the secret file \(path): \(String(cString: strerror(errno)))")
        }
        guard info.st_mode & 0o077 == 0 else {
            throw CLIFailure(message: "the secret file \(path) is accessible by group or others (mode \(String(info.st_mode & 0o777, radix: 8))); run chmod 600 \(path)")
        }
        guard info.st_size <= 64 * 1024 else { throw CLIFailure(message: "the secret file \(path) is too large") }
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw CLIFailure(message: "cannot read the secret file \(path): \(error.localizedDescription)")
        }
        var secrets: [SymmetricKey] = []
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            guard let bytes = Data(base64Encoded: trimmed), bytes.count >= minimumSecretLength else {
                throw CLIFailure(message: "\(path) line \(number + 1): not a base64 secret of at least \(minimumSecretLength) bytes")
            }
            secrets.append(SymmetricKey(data: bytes))
        }
        guard !secrets.isEmpty else { throw CLIFailure(message: "the secret file \(path) holds no secret") }
        guard secrets.count <= maximumSecrets else { throw CLIFailure(message: "the secret file \(path) holds more than \(maximumSecrets) secrets") }
        return secrets
    }
}
