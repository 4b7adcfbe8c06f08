import CRTAuth
import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A token the client holds, with what it knows of it.
public struct CachedToken: Codable, Hashable, Sendable {
    public let token: String
    public let username: String
    /// `SHA256:…` of the key that signed the handshake.
    public let keyFingerprint: String?
    /// Local Unix seconds after which the token is not used.
    public let expiresAt: UInt64
    /// `crtauth-v0`/`-v1`/`-v2`.
    public let scheme: String
    /// The origin the token is for (`https://host:port`); nil in files of earlier versions.
    public let server: String?

    public init(token: String, username: String, keyFingerprint: String?, expiresAt: UInt64, scheme: String, server: String? = nil) {
        self.token = token
        self.username = username
        self.keyFingerprint = keyFingerprint
        self.expiresAt = expiresAt
        self.scheme = scheme
        self.server = server
    }

    /// Whether the token may still be sent at `now` (local Unix seconds).
    public func isFresh(at now: UInt64) -> Bool { now < self.expiresAt }
}

/// Tokens on disk, one file per (scheme, host, port, user) under `$XDG_CACHE_HOME/crtauth` (or
/// `~/.cache/crtauth`): mode 0600 in a 0700 directory, written atomically (write, fsync,
/// rename). A file that is corrupt, foreign-owned or readable by others is ignored (and
/// replaced at the next handshake).
public struct TokenCache: Sendable {
    public let directory: String
    /// Largest cache file read.
    static let maximumFileLength = 64 * 1024

    public init(directory: String) { self.directory = directory }

    /// The default location for the current user, from `environment`.
    public static func standard(environment: [String: String] = ProcessInfo.processInfo.environment) -> TokenCache? {
        if let base = environment["XDG_CACHE_HOME"], base.hasPrefix("/") { return TokenCache(directory: base + "/crtauth") }
        guard let home = environment["HOME"], home.hasPrefix("/") else { return nil }
        return TokenCache(directory: home + "/.cache/crtauth")
    }

    /// The file for a server and user: a hash, so no name from the URL reaches the file system.
    func path(scheme: String, host: String, port: Int, user: String) -> String {
        let name = "\(scheme.lowercased())://\(host.lowercased()):\(port)\n\(user)"
        return self.directory + "/" + SHA256.hash(data: Array(name.utf8)).map { String(format: "%02x", $0) }.joined() + ".json"
    }

    public func load(scheme: String, host: String, port: Int, user: String) -> CachedToken? {
        guard let cached = Self.readToken(open(self.path(scheme: scheme, host: host, port: port, user: user), O_RDONLY | O_CLOEXEC | O_NOFOLLOW)),
              cached.username == user else { return nil }
        return cached
    }

    /// Reads and closes `fd`: a token only from a regular file of ours, 0600 or stricter, of sane size.
    private static func readToken(_ fd: Int32) -> CachedToken? {
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG, info.st_uid == getuid(), info.st_mode & 0o077 == 0,
              info.st_size <= Self.maximumFileLength else { return nil }
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size))
        guard read(fd, &bytes, bytes.count) == bytes.count else { return nil }
        return Self.token(inFile: bytes)
    }

    /// The token a cache file's bytes hold; nil for anything else.
    static func token(inFile bytes: [UInt8]) -> CachedToken? {
        guard bytes.count <= Self.maximumFileLength else { return nil }
        return try? JSONDecoder().decode(CachedToken.self, from: Data(bytes))
    }

    /// Every token in the cache: only files named as this cache names them (a SHA-256 in hex
    /// and `.json`) that read as a token; symbolic links and foreign files are passed over.
    public func tokens() -> [(file: String, token: CachedToken)] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: self.directory) else { return [] }
        let directory = open(self.directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)
        guard directory >= 0 else { return [] }
        defer { close(directory) }
        return names.sorted().compactMap { name in
            guard Self.isCacheFileName(name), let token = Self.readToken(openat(directory, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) else { return nil }
            return (name, token)
        }
    }

    /// Removes the tokens `matching` says to (all when nil) and returns them. Only files that
    /// ``tokens()`` lists are removed: never a symbolic link, never a file this cache did not write.
    @discardableResult
    public func removeTokens(matching: ((CachedToken) -> Bool)? = nil) -> [CachedToken] {
        let directory = open(self.directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)
        guard directory >= 0 else { return [] }
        defer { close(directory) }
        return self.tokens().compactMap { entry in
            guard matching?(entry.token) ?? true, unlinkat(directory, entry.file, 0) == 0 else { return nil }
            return entry.token
        }
    }

    static func isCacheFileName(_ name: String) -> Bool {
        let utf8 = Array(name.utf8)
        return utf8.count == 64 + 5 && name.hasSuffix(".json")
            && utf8.prefix(64).allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0) }
    }

    public func store(_ token: CachedToken, scheme: String, host: String, port: Int) throws {
        try self.makeDirectory()
        let path = self.path(scheme: scheme, host: host, port: port, user: token.username)
        let temporary = path + ".tmp-\(getpid())-\(UInt32.random(in: 0 ... .max))"
        let data = try JSONEncoder().encode(token)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw Self.failure("cannot write the token cache \(temporary)") }
        let written = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd)
        close(fd)
        guard written == data.count, synced == 0, rename(temporary, path) == 0 else {
            unlink(temporary)
            throw Self.failure("cannot write the token cache \(path)")
        }
    }

    public func remove(scheme: String, host: String, port: Int, user: String) {
        unlink(self.path(scheme: scheme, host: host, port: port, user: user))
    }

    private func makeDirectory() throws {
        var info = stat()
        if stat(self.directory, &info) == 0 {
            guard info.st_uid == getuid() else { throw Self.failure("the token cache \(self.directory) belongs to another user") }
            return
        }
        do {
            try FileManager.default.createDirectory(atPath: self.directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw Self.failure("cannot create the token cache \(self.directory)")
        }
    }

    private static func failure(_ message: String) -> CRTAuthClientError {
        CRTAuthClientError(.tokenCache, message + ": \(String(cString: strerror(errno)))")
    }
}
