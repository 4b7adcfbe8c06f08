import Foundation
import SSHKeys
import TestSupport
import Testing

/// A `crtauth serve` process on an ephemeral loopback port, stopped by its pid.
final class GatewayProcess: Sendable {
    let child: ChildProcess
    let port: Int
    let log: String
    let dataDirectory: String
    /// `https` when started with `--tls-cert`.
    let scheme: String

    init(_ dir: TemporaryDirectory, _ arguments: [String] = [], environment: [String: String] = [:], name: String = "gateway") throws {
        self.log = dir.file("\(name).log")
        self.dataDirectory = dir.file("data")
        self.child = try ChildProcess(
            try crtauthExecutable(),
            ["serve", "--listen", "127.0.0.1:0", "--server-name", "127.0.0.1", "--data-dir", self.dataDirectory] + arguments,
            environment: environment, output: self.log
        )
        self.scheme = arguments.contains("--tls-cert") ? "https" : "http"
        let marker = ": listening on \(self.scheme)://127.0.0.1:"
        guard let line = waitForLine(in: self.log, matching: marker, timeout: 30), let range = line.range(of: marker),
              let port = Int(line[range.upperBound...].prefix(while: \.isNumber)) else {
            self.child.stop()
            throw ProcessError(message: "crtauth serve did not start: \((try? String(contentsOfFile: self.log, encoding: .utf8)) ?? "")")
        }
        self.port = port
    }

    func url(_ path: String) -> String { "\(self.scheme)://127.0.0.1:\(self.port)\(path)" }

    var logText: String { (try? String(contentsOfFile: self.log, encoding: .utf8)) ?? "" }

    /// The audit lines of the log (one per authentication decision; access-log lines excluded).
    var auditLines: [Substring] { self.logText.split(separator: "\n").filter { $0.contains("msg=authentication") } }

    func stop() { self.child.stop() }
}

/// The first line of `path` containing `text`, waiting up to `timeout` seconds for it.
func waitForLine(in path: String, matching text: String, timeout: Double) -> String? {
    let deadline = Date().addingTimeInterval(timeout)
    repeat {
        if let contents = try? String(contentsOfFile: path, encoding: .utf8), let line = contents.split(separator: "\n").first(where: { $0.contains(text) }) {
            return String(line)
        }
        usleep(20_000)
    } while Date() < deadline
    return nil
}

/// One HTTP exchange made with curl (exact control of headers, methods and bodies).
struct HTTPExchange {
    let status: Int
    let headers: [(String, String)]
    let body: String

    func header(_ name: String) -> String? { self.headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
}

func curl(_ url: String, method: String = "GET", headers: [String] = [], body: String? = nil) throws -> HTTPExchange {
    var arguments = ["-s", "-i", "--max-time", "20", "-X", method]
    if method == "HEAD" { arguments = ["-s", "-I", "--max-time", "20"] }
    for header in headers { arguments += ["-H", header] }
    if let body { arguments += ["--data-binary", body] }
    let result = try runProcess("curl", arguments + [url])
    guard result.status == 0 else { throw ProcessError(message: "curl \(url) failed (\(result.status)): \(result.stderr)") }
    return parseHTTPResponse(result.stdout)
}

func parseHTTPResponse(_ text: String) -> HTTPExchange {
    let parts = text.components(separatedBy: "\r\n\r\n")
    let head = parts[0].components(separatedBy: "\r\n")
    let status = head.first.flatMap { $0.split(separator: " ").dropFirst().first }.flatMap { Int($0) } ?? 0
    let headers = head.dropFirst().compactMap { line -> (String, String)? in
        guard let colon = line.firstIndex(of: ":") else { return nil }
        return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
    }
    return HTTPExchange(status: status, headers: Array(headers), body: parts.dropFirst().joined(separator: "\r\n\r\n"))
}

/// The Python 2.7 peers (requests-crtauth, crtauth, gunicorn), installed by scripts/test.
enum Python2 {
    static func environment() throws -> (python: String, path: String) {
        let environment = ProcessInfo.processInfo.environment
        guard let python = environment["CRTAUTH_TEST_PY2"], let path = environment["CRTAUTH_TEST_PY2_PATH"] else {
            throw ProcessError(message: "CRTAUTH_TEST_PY2 and CRTAUTH_TEST_PY2_PATH are not set: run the tests with ./scripts/test, which installs the Python peers")
        }
        return (python, path)
    }

    static func peer(_ name: String) throws -> String {
        guard let url = Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Peers") else {
            throw ProcessError(message: "peer script \(name) is missing from the test bundle")
        }
        return url.path
    }

    /// requests-crtauth against `url` as `user` with the agent's keys; returns its stdout.
    static func requestsClient(_ url: String, user: String, version: Int, agent: SSHAgentProcess, method: String = "GET", body: String? = nil) throws -> String {
        let (python, path) = try environment()
        var arguments = [try peer("requests_client.py"), url, user, String(version), method]
        if let body { arguments.append(body) }
        return try mustRun(python, arguments, environment: agent.environment.merging(["PYTHONPATH": path, "PYTHONWARNINGS": "ignore"]) { $1 })
    }
}

/// A small HTTP upstream (Python 3's standard library, in the venv of scripts/test for the
/// websockets library) that answers every request with a JSON echo of its method, path, headers
/// and body, and echoes WebSocket messages.
final class EchoUpstream: Sendable {
    let child: ChildProcess
    let port: Int

    let scheme: String

    /// - Parameter tls: a certificate chain and key to serve HTTPS with.
    init(_ dir: TemporaryDirectory, tls: (certificate: String, key: String)? = nil) throws {
        let log = dir.file("upstream.log")
        self.scheme = tls == nil ? "http" : "https"
        self.child = try ChildProcess(try SigningInteropTests.python(), [try Python2.peer("echo_upstream.py")] + (tls.map { [$0.certificate, $0.key] } ?? []), output: log)
        guard let line = waitForLine(in: log, matching: "port ", timeout: 20), let port = Int(line.split(separator: " ").last ?? "") else {
            self.child.stop()
            throw ProcessError(message: "the echo upstream did not start")
        }
        self.port = port
    }

    var url: String { "\(self.scheme)://127.0.0.1:\(self.port)" }
}

/// A main nginx configuration for a test: one worker in the foreground, every path under
/// `prefix`, `http` (server blocks or an include) inside the http block.
func nginxConfiguration(prefix: String, http: String) -> String {
    """
    daemon off;
    master_process off;
    worker_processes 1;
    pid \(prefix)/nginx.pid;
    error_log \(prefix)/logs/error.log warn;
    events { worker_connections 64; }
    http {
        access_log off;
        client_body_temp_path \(prefix)/body; proxy_temp_path \(prefix)/proxy;
        fastcgi_temp_path \(prefix)/fastcgi; uwsgi_temp_path \(prefix)/uwsgi; scgi_temp_path \(prefix)/scgi;
    \(http)
    }
    """
}
