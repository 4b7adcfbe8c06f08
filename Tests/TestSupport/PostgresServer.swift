import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A PostgreSQL server of our own: `initdb` in a temporary directory (as the `postgres` user:
/// initdb refuses root), listening on 127.0.0.1 at a free port with password authentication,
/// stopped by its pid (SIGINT: fast shutdown).
public final class PostgresServer: @unchecked Sendable {
    public static let user = "crtauth"
    public static let password = "test-password"
    public let directory: TemporaryDirectory
    public let port: Int
    private var child: ChildProcess?

    static func binary(_ name: String) throws -> String {
        let environment = ProcessInfo.processInfo.environment
        let candidates = [environment["CRTAUTH_TEST_PG_BIN"].map { $0 + "/" + name }] + (13...17).reversed().map { "/usr/lib/postgresql/\($0)/bin/\(name)" }
        guard let path = candidates.compactMap({ $0 }).first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw ProcessError(message: "PostgreSQL's \(name) is not installed: run the tests with ./scripts/test, which installs it")
        }
        return path
    }

    public init() throws {
        self.directory = try TemporaryDirectory()
        let data = self.directory.file("data")
        let passwordFile = try self.directory.write("pwfile", Self.password + "\n", mode: 0o644)
        try mustRun("/bin/chown", ["-R", "postgres:postgres", self.directory.path])
        try Self.asPostgres(try Self.binary("initdb"), ["-D", data, "-U", Self.user, "--pwfile", passwordFile, "--auth-host=scram-sha-256", "--auth-local=trust", "-E", "UTF8", "--no-sync"])
        self.port = try freePort()
        try self.start()
    }

    public var url: String { "postgres://\(Self.user):\(Self.password)@127.0.0.1:\(self.port)/postgres?sslmode=disable" }

    /// Starts (or restarts) the server and waits until it accepts connections.
    public func start() throws {
        let log = self.directory.file("postgres.log")
        let child = try ChildProcess("/usr/bin/setpriv", [
            "--reuid", "postgres", "--regid", "postgres", "--clear-groups", "--",
            try Self.binary("postgres"), "-D", self.directory.file("data"), "-c", "listen_addresses=127.0.0.1", "-p", String(self.port),
            "-k", self.directory.path, "-c", "fsync=off",
        ], output: log)
        self.child = child
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if let text = try? String(contentsOfFile: log, encoding: .utf8), text.contains("ready to accept connections") { return }
            usleep(50_000)
        }
        child.stop()
        throw ProcessError(message: "PostgreSQL did not start: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
    }

    /// Fast shutdown (SIGINT), waiting for the server to exit.
    public func stop() {
        self.child?.kill(signal: SIGINT)
        self.child = nil
    }

    deinit { self.stop() }

    private static func asPostgres(_ executable: String, _ arguments: [String]) throws {
        _ = try mustRun("/usr/bin/setpriv", ["--reuid", "postgres", "--regid", "postgres", "--clear-groups", "--", executable] + arguments)
    }
}

/// A loopback port nobody listens on right now.
public func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
    }
    guard bound else { throw ProcessError(message: "no free port") }
    return Int(UInt16(bigEndian: address.sin_port))
}
