import Foundation

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
