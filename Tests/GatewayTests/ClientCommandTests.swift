import Foundation
import SSHKeys
import TestSupport
import Testing

/// `crtauth curl`, `login` and `token` as users run them, against real servers.
@Suite("crtauth curl / login / token", .serialized)
struct ClientCommandTests {
    static func client(_ arguments: [String], agent: SSHAgentProcess?, cache: TemporaryDirectory, extra: [String: String] = [:]) throws -> ProcessResult {
        var environment = ["XDG_CACHE_HOME": cache.file("cache"), "CRTAUTH_USER": "alice"].merging(extra) { $1 }
        environment["SSH_AUTH_SOCK"] = agent?.socketPath ?? ""
        return try runProcess("setsid", ["-w", try crtauthExecutable()] + arguments, environment: environment)
    }

    @Test("curl and login against crtauth serve with agent keys: RSA (v1), Ed25519 and ECDSA (v2)", arguments: [("rsa", "crtauth-v1"), ("ed25519", "crtauth-v2"), ("ecdsa", "crtauth-v2")])
    func againstGateway(keyType: String, scheme: String) throws {
        let enrolled = try GatewayTests.Enrolled(keyType: keyType)
        let gateway = try GatewayProcess(enrolled.dir)
        defer { gateway.stop() }
        let login = try Self.client(["login", gateway.url("/"), "--json"], agent: enrolled.agent, cache: enrolled.dir)
        #expect(login.status == 0, "\(login.stderr)")
        let object = try JSONSerialization.jsonObject(with: Data(login.stdout.utf8)) as? [String: Any]
        #expect(object?["user"] as? String == "alice" && object?["key"] as? String == enrolled.fingerprint && object?["scheme"] as? String == scheme)
        // curl uses the cached token: the gateway logs no new handshake.
        let handshakes = gateway.logText.components(separatedBy: "result=success").count
        let fetched = try Self.client(["curl", "-i", gateway.url("/whoami")], agent: enrolled.agent, cache: enrolled.dir)
        #expect(fetched.status == 0 && fetched.stdout.hasPrefix("HTTP/1.1 200") && fetched.stdout.contains(#""user":"alice""#))
        #expect(gateway.logText.components(separatedBy: "result=success").count == handshakes)
        // token prints a token that works with plain curl.
        let token = try Self.client(["token", gateway.url("/")], agent: enrolled.agent, cache: enrolled.dir).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try curl(gateway.url("/whoami"), headers: ["Authorization: chap:\(token)"]).status == 200)
        // --fail on a 4xx exits 22.
        let missing = try Self.client(["curl", "--fail", "-X", "DELETE", gateway.url("/nothing-here")], agent: enrolled.agent, cache: enrolled.dir)
        #expect(missing.status == 22)
    }

    @Test("without CRTAUTH_USER and USER the username is the account's name, as ssh takes it")
    func accountName() throws {
        let dir = try TemporaryDirectory()
        let account = try mustRun("id", ["-un"]).trimmingCharacters(in: .whitespacesAndNewlines)
        let key = try sshKeygen(dir, name: "me", type: "ed25519")
        try mustRun(try crtauthExecutable(), ["keys", "add", account, key + ".pub", "--data-dir", dir.file("data")])
        let gateway = try GatewayProcess(dir)
        defer { gateway.stop() }
        let login = try Self.client(["login", "--json", "--identity", key, gateway.url("/")], agent: nil, cache: dir, extra: ["CRTAUTH_USER": "", "USER": ""])
        #expect(login.status == 0, "\(login.stderr)")
        #expect((try JSONSerialization.jsonObject(with: Data(login.stdout.utf8)) as? [String: Any])?["user"] as? String == account)
    }

    @Test("an encrypted key file (--identity) with CRTAUTH_PASSPHRASE; POST bodies from @file")
    func encryptedKeyFile() throws {
        let dir = try TemporaryDirectory()
        let key = try sshKeygen(dir, name: "alice", type: "ed25519", passphrase: "correct horse")
        try mustRun(try crtauthExecutable(), ["keys", "add", "alice", key + ".pub", "--data-dir", dir.file("data")])
        let upstream = try EchoUpstream(dir)
        defer { upstream.child.stop() }
        let gateway = try GatewayProcess(dir, ["--upstream", upstream.url])
        defer { gateway.stop() }
        let body = try dir.write("body.json", #"{"hello":"upstream"}"#)
        let result = try Self.client(["curl", "-d", "@" + body, "-H", "Content-Type: application/json", "--identity", key, gateway.url("/items")], agent: nil, cache: dir, extra: ["CRTAUTH_PASSPHRASE": "correct horse"])
        #expect(result.status == 0, "\(result.stderr)")
        let echo = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        #expect(echo?["method"] as? String == "POST" && echo?["body"] as? String == #"{"hello":"upstream"}"#)
        let wrong = try Self.client(["curl", "--identity", key, gateway.url("/items")], agent: nil, cache: try TemporaryDirectory(), extra: ["CRTAUTH_PASSPHRASE": "wrong"])
        #expect(wrong.status != 0 && !wrong.stderr.isEmpty)
    }

    @Test("against the real Python server (CrtauthMiddleware on wsgiref, Python 2.7): v1 and v0 with an RSA key", arguments: ["v1", "v0"])
    func againstPython(version: String) throws {
        let dir = try TemporaryDirectory()
        let key = try sshKeygen(dir, name: "alice", type: "rsa", bits: 2048)
        try FileManager.default.createDirectory(atPath: dir.file("keys"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: key + ".pub", toPath: dir.file("keys/alice_id_rsa.pub"))
        let agent = try SSHAgentProcess()
        try agent.add(key)
        let (python, path) = try Python2.environment()
        let log = dir.file("python.log")
        let server = try ChildProcess(python, [try Python2.peer("python_server.py"), "shared-secret", dir.file("keys")], environment: ["PYTHONPATH": path, "PYTHONWARNINGS": "ignore"], output: log)
        defer { server.stop() }
        guard let line = waitForLine(in: log, matching: "port ", timeout: 20), let port = Int(line.split(separator: " ").last ?? "") else {
            throw ProcessError(message: "the Python server did not start: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
        }
        let result = try Self.client(["curl", "--protocol", version, "http://127.0.0.1:\(port)/whoami"], agent: agent, cache: dir)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains(#""user": "alice""#))
        // The Python server's token (v0) is cached and reused; -v never shows it.
        let verbose = try Self.client(["curl", "-v", "http://127.0.0.1:\(port)/whoami"], agent: agent, cache: dir)
        #expect(verbose.stderr.contains("using the cached token"))
        let token = try Self.client(["token", "http://127.0.0.1:\(port)/"], agent: agent, cache: dir).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(!token.isEmpty && !verbose.stderr.contains(token))
    }

    @Test("errors name the fix: no agent, a key the server does not know, another server name, nothing listening")
    func errors() throws {
        let enrolled = try GatewayTests.Enrolled(keyType: "ed25519")
        let gateway = try GatewayProcess(enrolled.dir)
        defer { gateway.stop() }
        let noAgent = try Self.client(["curl", gateway.url("/whoami")], agent: nil, cache: enrolled.dir)
        #expect(noAgent.status == 67 && noAgent.stderr.contains("SSH_AUTH_SOCK"))
        let stranger = try SSHAgentProcess()
        try stranger.add(try sshKeygen(enrolled.dir, name: "stranger", type: "ed25519"))
        let unknownKey = try Self.client(["curl", gateway.url("/whoami")], agent: stranger, cache: enrolled.dir)
        #expect(unknownKey.status == 67 && unknownKey.stderr.contains(enrolled.fingerprint) && unknownKey.stderr.contains("not be registered"))
        let otherName = try Self.client(["curl", "http://localhost:\(gateway.port)/whoami"], agent: enrolled.agent, cache: enrolled.dir)
        #expect(otherName.status == 67 && otherName.stderr.contains("man-in-the-middle"))
        let nothing = try Self.client(["curl", "http://127.0.0.1:\(try freePort())/whoami"], agent: enrolled.agent, cache: enrolled.dir)
        #expect(nothing.status == 7)
    }
}
