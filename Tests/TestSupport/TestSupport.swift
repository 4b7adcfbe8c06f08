import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A directory under the system temp dir, removed when the value is released.
public final class TemporaryDirectory: Sendable {
    public let path: String

    public init() throws {
        var template = Array((NSTemporaryDirectory() + "/crtauth-test-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { throw ProcessError(message: "mkdtemp failed") }
        self.path = String(cString: made)
    }

    public func file(_ name: String) -> String { self.path + "/" + name }

    public func write(_ name: String, _ contents: String, mode: mode_t = 0o600) throws -> String {
        let p = self.file(name)
        try contents.write(toFile: p, atomically: false, encoding: .utf8)
        chmod(p, mode)
        return p
    }

    public func read(_ name: String) throws -> String { try String(contentsOfFile: self.file(name), encoding: .utf8) }

    deinit { try? FileManager.default.removeItem(atPath: self.path) }
}

public struct ProcessError: Error, CustomStringConvertible {
    public let message: String
    public init(message: String) { self.message = message }
    public var description: String { self.message }
}

/// What a finished process left behind.
public struct ProcessResult: Sendable {
    public let status: Int32
    public let stdout: String
    public let stderr: String
    public let stdoutBytes: [UInt8]
}

/// Runs `executable` (a path, or a name looked up in PATH) to completion.
@discardableResult
public func runProcess(
    _ executable: String,
    _ arguments: [String],
    stdin: [UInt8]? = nil,
    environment: [String: String]? = nil
) throws -> ProcessResult {
    let process = Process()
    if executable.contains("/") {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
    } else {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [executable] + arguments
    }
    if let environment {
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    }
    let out = Pipe(), err = Pipe(), input = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = input
    try process.run()
    if let stdin { input.fileHandleForWriting.write(Data(stdin)) }
    try input.fileHandleForWriting.close()
    // Read both pipes concurrently so neither can fill up and block the child.
    nonisolated(unsafe) var errData = Data()
    let group = DispatchGroup()
    group.enter()
    DispatchQueue.global().async {
        errData = err.fileHandleForReading.readDataToEndOfFile()
        group.leave()
    }
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    process.waitUntilExit()
    return ProcessResult(
        status: process.terminationStatus,
        stdout: String(decoding: outData, as: UTF8.self),
        stderr: String(decoding: errData, as: UTF8.self),
        stdoutBytes: Array(outData)
    )
}

/// Runs a command that must succeed, returning its stdout.
@discardableResult
public func mustRun(_ executable: String, _ arguments: [String], stdin: [UInt8]? = nil, environment: [String: String]? = nil) throws -> String {
    let result = try runProcess(executable, arguments, stdin: stdin, environment: environment)
    guard result.status == 0 else {
        throw ProcessError(message: "\(executable) \(arguments.joined(separator: " ")) exited \(result.status): \(result.stderr)")
    }
    return result.stdout
}

/// `ssh-keygen -t TYPE [-b BITS] -N PASS -C COMMENT -f DIR/NAME`; returns the private key path.
public func sshKeygen(_ dir: TemporaryDirectory, name: String, type: String, bits: Int? = nil, passphrase: String = "", extra: [String] = []) throws -> String {
    let path = dir.file(name)
    var args = ["-q", "-t", type, "-N", passphrase, "-C", "\(name)@test", "-f", path]
    if let bits { args += ["-b", String(bits)] }
    try mustRun("ssh-keygen", args + extra)
    return path
}

/// The key types `ssh-keygen -t` makes and their sizes, covering every software key type.
public let sshKeygenTypes: [(type: String, bits: Int?)] = [
    ("ed25519", nil), ("ecdsa", 256), ("ecdsa", 384), ("ecdsa", 521), ("rsa", 2048), ("rsa", 3072),
]

/// The built `crtauth` executable, beside the test bundle.
public func crtauthExecutable() throws -> String {
    var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    for _ in 0..<4 {
        let candidate = dir.appendingPathComponent("crtauth").path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        dir = dir.deletingLastPathComponent()
    }
    throw ProcessError(message: "the crtauth executable was not found beside \(CommandLine.arguments[0]); run 'swift build' first")
}

/// A long-running child (an agent, a server) started with a clean signal mask — Swift's
/// threads block signals, and a child that inherits that mask may never see SIGTERM — and
/// stopped by its pid.
public final class ChildProcess: @unchecked Sendable {
    // @unchecked: `pid` and `exited` are only touched in init and stop(), which callers serialise.
    public let pid: pid_t
    private var exited = false

    /// - Parameter output: a file for the child's stdout and stderr (default /dev/null).
    public init(_ executable: String, _ arguments: [String], environment: [String: String]? = nil, output: String? = nil) throws {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        if let output {
            posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        } else {
            posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
            posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        }
        let env = (environment.map { ProcessInfo.processInfo.environment.merging($0) { $1 } } ?? ProcessInfo.processInfo.environment)
            .map { "\($0.key)=\($0.value)" }
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = env.map { strdup($0) } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard rc == 0 else { throw ProcessError(message: "cannot start \(executable): errno \(rc)") }
        self.pid = pid
    }

    /// Sends `signal` and waits for the child to exit; returns its wait status.
    @discardableResult
    public func kill(signal: Int32) -> Int32 {
        guard !self.exited else { return 0 }
        Glibc.kill(self.pid, signal)
        var status: Int32 = 0
        waitpid(self.pid, &status, 0)
        self.exited = true
        return status
    }

    /// Waits for the child to exit by itself; returns its exit code (or 128 + signal).
    public func wait() -> Int32 {
        guard !self.exited else { return 0 }
        var status: Int32 = 0
        waitpid(self.pid, &status, 0)
        self.exited = true
        return status & 0x7F == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
    }

    /// SIGTERM, then SIGKILL after `grace` seconds; reaps the child.
    public func stop(grace: Double = 5) {
        guard !self.exited else { return }
        Glibc.kill(self.pid, SIGTERM)
        var status: Int32 = 0
        let deadline = Date().addingTimeInterval(grace)
        while waitpid(self.pid, &status, WNOHANG) == 0 {
            if Date() > deadline {
                Glibc.kill(self.pid, SIGKILL)
                waitpid(self.pid, &status, 0)
                break
            }
            usleep(5_000)
        }
        self.exited = true
    }

    deinit { self.stop() }
}

/// Waits up to `timeout` seconds for `condition`, asking every `interval` seconds.
public func waitUntil(_ condition: @autoclosure () -> Bool, timeout: Double = 10, interval: Double = 0.05) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while !condition() {
        if Date() > deadline { return false }
        usleep(useconds_t(interval * 1_000_000))
    }
    return true
}

/// Waits up to `timeout` seconds for a file (a socket, a pid file) to appear.
public func waitForFile(_ path: String, timeout: Double = 5) -> Bool {
    waitUntil(FileManager.default.fileExists(atPath: path), timeout: timeout, interval: 0.005)
}

/// Whether something accepts TCP connections on the loopback `port`.
public func canConnect(port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    return withUnsafePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
    }
}

/// `text` with the byte at `index` (from the end when negative) changed: a credential that
/// still reads but must not verify.
public func tampered(_ text: String, at index: Int) -> String {
    var bytes = Array(text.utf8)
    let position = index < 0 ? bytes.count + index : index
    bytes[position] = bytes[position] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
    return String(decoding: bytes, as: UTF8.self)
}

/// A real `ssh-agent` on its own socket in a temp dir, run in the foreground (`-D`) as our
/// child and stopped by its pid.
public final class SSHAgentProcess: Sendable {
    public let socketPath: String
    private let directory: TemporaryDirectory
    private let child: ChildProcess

    public init() throws {
        self.directory = try TemporaryDirectory()
        self.socketPath = self.directory.file("agent.sock")
        self.child = try ChildProcess("/usr/bin/ssh-agent", ["-D", "-a", self.socketPath])
        guard waitForFile(self.socketPath) else {
            self.child.stop()
            throw ProcessError(message: "ssh-agent did not create its socket within 5 s")
        }
    }

    /// The environment that points OpenSSH tools at this agent.
    public var environment: [String: String] { ["SSH_AUTH_SOCK": self.socketPath] }

    /// `ssh-add` of a key file into this agent.
    public func add(_ keyPath: String) throws {
        try mustRun("ssh-add", ["-q", keyPath], environment: self.environment)
    }

    public func stop() { self.child.stop() }
}
