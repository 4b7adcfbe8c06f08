import Crypto
import Foundation
import TestSupport

/// The `crtauth serve` being soaked: started for real on loopback with a store, every scheme
/// but serveradmin, an upstream, an admin listener and no access log (the audit log is what the
/// flood phase measures); stopped by its pid.
final class GatewayUnderTest: Sendable {
    /// Secrets kept in the file while rotating (at 10 s a rotation, 80 s: longer than a token
    /// lives, so no valid token is orphaned).
    static let secretsKept = 8
    /// Log lines shown when a phase fails.
    static let problemsShown = 10

    let crtauth: String
    let store: String
    let directory: TemporaryDirectory
    let log: String
    let port: Int
    let adminPort: Int
    let tokenLifetime: Int
    private let child: ChildProcess

    init(crtauth: String, store: String, upstream: String, name: String, tokenLifetime: Int = 60) throws {
        self.crtauth = crtauth
        self.store = store
        self.directory = try TemporaryDirectory()
        self.log = self.directory.file("\(name).log")
        self.tokenLifetime = tokenLifetime
        self.adminPort = try freePort()
        self.child = try ChildProcess(crtauth, [
            "serve", "--listen", "127.0.0.1:0", "--server-name", "127.0.0.1", "--data-dir", self.directory.file("data"),
            "--store", store, "--schemes", "chap,jwt,signature", "--upstream", upstream,
            "--admin-listen", "127.0.0.1:\(self.adminPort)", "--access-log", "off", "--token-lifetime", String(tokenLifetime),
        ], output: self.log)
        let marker = ": listening on http://127.0.0.1:"
        let deadline = Date().addingTimeInterval(60)
        var port: Int?
        while port == nil, Date() < deadline {
            if let text = try? String(contentsOfFile: self.log, encoding: .utf8), let range = text.range(of: marker) {
                port = Int(text[range.upperBound...].prefix(while: \.isNumber))
            } else {
                usleep(50_000)
            }
        }
        guard let port, canConnect(port: self.adminPort) || waitUntil(canConnect(port: self.adminPort)) else {
            self.child.stop()
            throw ProcessError(message: "crtauth serve did not start: \((try? String(contentsOfFile: self.log, encoding: .utf8)) ?? "")")
        }
        self.port = port
    }

    var pid: pid_t { self.child.pid }
    var secretFile: String { self.directory.file("data/secret") }

    /// `crtauth keys ARGUMENTS --store STORE`.
    @discardableResult
    func keys(_ arguments: [String]) throws -> String {
        try mustRun(self.crtauth, ["keys"] + arguments + ["--store", self.store])
    }

    /// Resident memory (KiB) and open descriptors of the gateway now.
    func sample() -> (rssKiB: Int, descriptors: Int)? {
        guard let status = try? String(contentsOfFile: "/proc/\(self.pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kib = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? ""),
              let descriptors = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(self.pid)/fd").count
        else { return nil }
        return (kib, descriptors)
    }

    /// What the gateway's descriptors are open on, counted by kind (sockets, pipes) or file name.
    func descriptorKinds() -> String {
        let directory = "/proc/\(self.pid)/fd"
        var kinds: [String: Int] = [:]
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] {
            guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: directory + "/" + entry) else { continue }
            let kind = target.hasPrefix("socket:") ? "socket" : target.hasPrefix("pipe:") ? "pipe" : target.hasPrefix("anon_inode:") ? String(target.dropFirst("anon_inode:".count)) : (target as NSString).lastPathComponent
            kinds[kind, default: 0] += 1
        }
        return kinds.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
    }

    /// Rotates the HMAC secret the way an operator does: a new one on top of the file, the
    /// oldest beyond ``secretsKept`` dropped, then SIGHUP.
    func rotateSecret() throws {
        let text = try String(contentsOfFile: self.secretFile, encoding: .utf8)
        let kept = text.split(separator: "\n").filter { !$0.hasPrefix("#") && !$0.isEmpty }.prefix(Self.secretsKept - 1)
        let fresh = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0).base64EncodedString() }
        let staged = self.secretFile + ".new"
        _ = try self.directory.write("data/secret.new", ([fresh] + kept.map(String.init)).joined(separator: "\n") + "\n", mode: 0o600)
        guard rename(staged, self.secretFile) == 0 else { throw ProcessError(message: "cannot replace the secret file: errno \(errno)") }
        kill(self.pid, SIGHUP)
    }

    /// The audit log's lines (every line the gateway wrote but its start-up banner).
    var logLines: Int {
        ((try? String(contentsOfFile: self.log, encoding: .utf8)) ?? "").split(separator: "\n").count
    }

    /// The log's warnings and errors (the last ``problemsShown``), for a failed phase's report.
    func problems() -> [String] {
        let text = (try? String(contentsOfFile: self.log, encoding: .utf8)) ?? ""
        let lines = text.split(separator: "\n").filter { $0.contains("level=error") || $0.contains("level=warning") || $0.contains("level=critical") || $0.contains("Fatal error") }
        return lines.suffix(Self.problemsShown).map { String($0.prefix(300)) }
    }

    /// Whether the gateway is still running (a zombie has no resident memory to sample).
    var alive: Bool { self.sample() != nil }

    func stop() { self.child.stop() }
}
