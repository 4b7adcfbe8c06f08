import Foundation
import Testing

/// `crtauth-vapor-example` over real HTTP: the `crtauth` client with keys in real ssh-agents
/// (RSA v1, Ed25519 v2, JWT, RFC 9421) and the Python requests-crtauth plugin (v1).
@Suite("crtauth-vapor-example with real clients", .serialized)
struct ExampleTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    struct Failure: Error, CustomStringConvertible { let description: String }

    /// A child process, stopped by its pid.
    final class Child: @unchecked Sendable {
        let process = Process()
        init(_ executable: String, _ arguments: [String], environment: [String: String] = [:], output: String) throws {
            self.process.executableURL = URL(fileURLWithPath: executable)
            self.process.arguments = arguments
            self.process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
            _ = FileManager.default.createFile(atPath: output, contents: nil)
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
            self.process.standardOutput = handle
            self.process.standardError = handle
            try self.process.run()
        }
        func stop() {
            kill(self.process.processIdentifier, SIGKILL)
            self.process.waitUntilExit()
        }
    }

    @discardableResult
    static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [executable] + arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        nonisolated(unsafe) var errData = Data()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async { errData = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
    }

    static func waitFor(_ text: String, in path: String, seconds: Double = 30) throws -> String {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let contents = try? String(contentsOfFile: path, encoding: .utf8), let line = contents.split(separator: "\n").first(where: { $0.contains(text) }) {
                return String(line)
            }
            usleep(50_000)
        }
        throw Failure(description: "'\(text)' never appeared in \(path): \((try? String(contentsOfFile: path, encoding: .utf8)) ?? "")")
    }

    /// An ssh-agent holding `key`.
    static func agent(_ directory: String, _ name: String, key: String) throws -> (Child, String) {
        let socket = directory + "/\(name).sock"
        let agent = try Child("/usr/bin/ssh-agent", ["-D", "-a", socket], output: directory + "/\(name).agent.log")
        _ = try Self.waitForSocket(socket)
        let added = try Self.run("ssh-add", ["-q", key], environment: ["SSH_AUTH_SOCK": socket])
        guard added.status == 0 else { throw Failure(description: "ssh-add failed: \(added.stderr)") }
        return (agent, socket)
    }

    static func waitForSocket(_ path: String) throws -> String {
        let deadline = Date().addingTimeInterval(10)
        while !FileManager.default.fileExists(atPath: path) {
            guard Date() < deadline else { throw Failure(description: "no socket at \(path)") }
            usleep(20_000)
        }
        return path
    }

    @Test("v1 RSA and v2 Ed25519 handshakes, JWT and RFC 9421 from crtauth curl; requests-crtauth v1; no credential is a 401")
    func realClients() throws {
        let crtauth = Self.repository.appendingPathComponent(".build/debug/crtauth").path
        guard FileManager.default.isExecutableFile(atPath: crtauth) else {
            throw Failure(description: "\(crtauth) is missing: build the root package first (./scripts/test does)")
        }
        let example = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let exampleBinary = [example, example.deletingLastPathComponent(), example.deletingLastPathComponent().deletingLastPathComponent()]
            .map { $0.appendingPathComponent("crtauth-vapor-example").path }.first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let exampleBinary else { throw Failure(description: "crtauth-vapor-example is not built beside the tests") }

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("crtauth-vapor-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory + "/keys", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Self.run("ssh-keygen", ["-q", "-t", "rsa", "-b", "2048", "-N", "", "-C", "alice", "-f", directory + "/alice"])
        try Self.run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "bob", "-f", directory + "/bob"])
        try FileManager.default.copyItem(atPath: directory + "/alice.pub", toPath: directory + "/keys/alice.pub")
        try FileManager.default.copyItem(atPath: directory + "/bob.pub", toPath: directory + "/keys/bob.pub")
        let (aliceAgent, aliceSocket) = try Self.agent(directory, "alice", key: directory + "/alice")
        defer { aliceAgent.stop() }
        let (bobAgent, bobSocket) = try Self.agent(directory, "bob", key: directory + "/bob")
        defer { bobAgent.stop() }

        let log = directory + "/example.log"
        let server = try Child(exampleBinary, ["--listen", "127.0.0.1:0", "--server-name", "127.0.0.1", "--keys", directory + "/keys",
                                               "--schemes", "chap,jwt,signature,serveradmin"], output: log)
        defer { server.stop() }
        let line = try Self.waitFor("listening on http://127.0.0.1:", in: log)
        let base = String(line[line.range(of: "http://")!.lowerBound...])
        let url = base + "/whoami"

        func curl(_ user: String, _ socket: String, _ extra: [String]) throws -> [String: Any] {
            let result = try Self.run(crtauth, ["curl"] + extra + [url], environment: [
                "SSH_AUTH_SOCK": socket, "CRTAUTH_USER": user, "XDG_CACHE_HOME": directory + "/cache-\(user)",
            ])
            guard result.status == 0 else { throw Failure(description: "crtauth curl \(extra) as \(user): \(result.status) \(result.stderr)") }
            return try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any] ?? [:]
        }
        let v1 = try curl("alice", aliceSocket, [])
        #expect(v1["user"] as? String == "alice" && v1["scheme"] as? String == "chap", "\(v1)")
        #expect(try curl("bob", bobSocket, [])["user"] as? String == "bob")
        let loginV2 = try Self.run(crtauth, ["login", "--json", base + "/"], environment: ["SSH_AUTH_SOCK": bobSocket, "CRTAUTH_USER": "bob", "XDG_CACHE_HOME": directory + "/cache-login"])
        #expect(loginV2.stdout.contains(#""scheme":"crtauth-v2""#), "\(loginV2.stdout)\(loginV2.stderr)")
        let loginV1 = try Self.run(crtauth, ["login", "--json", base + "/"], environment: ["SSH_AUTH_SOCK": aliceSocket, "CRTAUTH_USER": "alice", "XDG_CACHE_HOME": directory + "/cache-login"])
        #expect(loginV1.stdout.contains(#""scheme":"crtauth-v1""#), "\(loginV1.stdout)\(loginV1.stderr)")
        #expect(try curl("bob", bobSocket, ["--scheme", "jwt"])["scheme"] as? String == "jwt")
        #expect(try curl("bob", bobSocket, ["--scheme", "signature", "-d", "hello"])["scheme"] as? String == "signature")
        #expect(try curl("alice", aliceSocket, ["--scheme", "serveradmin"])["scheme"] as? String == "serveradmin")

        let anonymous = try Self.run("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", url])
        #expect(anonymous.stdout == "401")

        // The reference Python client (requests-crtauth 0.4 on Python 2.7), v1 with alice's RSA key.
        let environment = ProcessInfo.processInfo.environment
        guard let python = environment["CRTAUTH_TEST_PY2"], let path = environment["CRTAUTH_TEST_PY2_PATH"] else {
            throw Failure(description: "CRTAUTH_TEST_PY2 and CRTAUTH_TEST_PY2_PATH are not set: run ./scripts/test, which installs the Python peers")
        }
        let peer = Self.repository.appendingPathComponent("Tests/GatewayTests/Peers/requests_client.py").path
        let python2 = try Self.run(python, [peer, url, "alice", "1"], environment: ["SSH_AUTH_SOCK": aliceSocket, "PYTHONPATH": path, "PYTHONWARNINGS": "ignore"])
        #expect(python2.stdout.hasPrefix("200\n") && python2.stdout.contains("\"user\":\"alice\""), "\(python2.stdout)\(python2.stderr)")
        #expect(!((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains("chap:"))
    }
}
