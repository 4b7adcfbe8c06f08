import Foundation
import CRTAuth
import SSHKeys
import TestSupport
import Testing

/// `crtauth serve` as users run it, with real clients and real servers on loopback.
@Suite("crtauth serve", .serialized)
struct GatewayTests {
    /// A data directory with alice's RSA key enrolled and an agent holding it.
    struct Enrolled {
        let dir: TemporaryDirectory
        let agent: SSHAgentProcess
        let fingerprint: String

        init(keyType: String = "rsa") throws {
            self.dir = try TemporaryDirectory()
            let key = try sshKeygen(self.dir, name: "alice", type: keyType, bits: keyType == "rsa" ? 2048 : nil)
            self.agent = try SSHAgentProcess()
            try self.agent.add(key)
            let added = try mustRun(try crtauthExecutable(), ["keys", "add", "alice", key + ".pub", "--data-dir", self.dir.file("data")])
            self.fingerprint = String(added.split(separator: " ")[1])
        }
    }

    @Test("the Python requests-crtauth plugin (HEAD handshake, v1 and v0) authenticates and gets /whoami", arguments: [1, 0])
    func pythonClient(version: Int) throws {
        let enrolled = try Enrolled()
        let gateway = try GatewayProcess(enrolled.dir)
        defer { gateway.stop() }
        let output = try Python2.requestsClient(gateway.url("/whoami"), user: "alice", version: version, agent: enrolled.agent)
        let lines = output.split(separator: "\n")
        #expect(lines.first == "200")
        let identity = try JSONSerialization.jsonObject(with: Data(lines[1].utf8)) as? [String: Any]
        #expect(identity?["user"] as? String == "alice" && identity?["scheme"] as? String == "chap")
        #expect(lines.last == "second 200 handshakes 0")
        // The audit line names the user, the key and the scheme; never the token.
        let audit = gateway.logText.split(separator: "\n").filter { $0.contains("authentication") && $0.contains("result=success") }
        #expect(audit.contains { $0.contains("user=alice") && $0.contains(enrolled.fingerprint) && $0.contains("scheme=crtauth-v\(version)") })
        #expect(!gateway.logText.contains("chap:"))
    }

    @Test("requests are proxied to the upstream with the identity; a client's own identity headers are dropped")
    func proxy() throws {
        let enrolled = try Enrolled()
        let upstream = try EchoUpstream(enrolled.dir)
        defer { upstream.child.stop() }
        let gateway = try GatewayProcess(enrolled.dir, ["--upstream", upstream.url])
        defer { gateway.stop() }
        // Through the Python plugin: a POST with a body, v1.
        let output = try Python2.requestsClient(gateway.url("/api/items?x=1"), user: "alice", version: 1, agent: enrolled.agent, method: "POST", body: "hello upstream")
        let lines = output.split(separator: "\n")
        #expect(lines.first == "201")
        let echo = try #require(try JSONSerialization.jsonObject(with: Data(lines[1].utf8)) as? [String: Any])
        #expect(echo["method"] as? String == "POST" && echo["path"] as? String == "/api/items?x=1" && echo["body"] as? String == "hello upstream")
        let headers = (echo["headers"] as? [[String]] ?? []).map { ($0[0].lowercased(), $0[1]) }
        #expect(headers.filter { $0.0 == "x-authenticated-user" }.map(\.1) == ["alice"])
        #expect(!headers.contains { $0.0 == "authorization" })

        // With a token from a handshake, by hand: an injected identity header never reaches the upstream.
        let token = try handshakeToken(gateway, agent: enrolled.agent)
        let injected = try curl(gateway.url("/echo"), headers: ["Authorization: chap:\(token)", "X-Authenticated-User: mallory", "X-Authenticated-Key: SHA256:forged", "Connection: close, X-Secret-Hop", "X-Secret-Hop: 1"])
        #expect(injected.status == 200 && injected.header("X-Upstream") == "echo")
        let seen = try #require(try JSONSerialization.jsonObject(with: Data(injected.body.utf8)) as? [String: Any])
        let seenHeaders = (seen["headers"] as? [[String]] ?? []).map { ($0[0].lowercased(), $0[1]) }
        #expect(seenHeaders.filter { $0.0 == "x-authenticated-user" }.map(\.1) == ["alice"])
        #expect(!seenHeaders.contains { $0.0 == "x-authenticated-key" && $0.1 == "SHA256:forged" })
        #expect(!seenHeaders.contains { $0.0 == "x-secret-hop" })
        // Large bodies stream through in both directions.
        let big = String(repeating: "0123456789abcdef", count: 256 * 1024)
        let bigFile = try enrolled.dir.write("big.txt", big)
        let large = try runProcess("curl", ["-s", "--max-time", "60", "-H", "Authorization: chap:\(token)", "--data-binary", "@" + bigFile, gateway.url("/upload")])
        let largeEcho = try #require(try JSONSerialization.jsonObject(with: Data(large.stdout.utf8)) as? [String: Any])
        #expect((largeEcho["body"] as? String)?.count == big.count)
        // Unauthenticated requests never reach the upstream.
        let anonymous = try curl(gateway.url("/echo"))
        #expect(anonymous.status == 401 && anonymous.header("WWW-Authenticate") == "chap" && anonymous.header("X-Upstream") == nil)
    }

    @Test("nginx auth_request in front of an upstream, asking over TCP or a unix socket: authenticated requests pass with the user header, others get 401",
          arguments: [false, true])
    func nginxAuthRequest(overUnixSocket: Bool) throws {
        let nginx = ProcessInfo.processInfo.environment["CRTAUTH_TEST_NGINX"] ?? "/usr/sbin/nginx"
        guard FileManager.default.isExecutableFile(atPath: nginx) else {
            throw ProcessError(message: "nginx is not installed (\(nginx)); run the tests with ./scripts/test")
        }
        let enrolled = try Enrolled()
        let upstream = try EchoUpstream(enrolled.dir)
        defer { upstream.child.stop() }
        let gateway = try GatewayProcess(enrolled.dir)
        defer { gateway.stop() }
        // The checks go to a second gateway on a unix socket (same data: same secret and keys).
        let socket = enrolled.dir.file("gw.sock")
        var checker: ChildProcess?
        defer { checker?.stop() }
        if overUnixSocket {
            let log = enrolled.dir.file("unix-gateway.log")
            checker = try ChildProcess(try crtauthExecutable(), ["serve", "--listen", "unix:" + socket, "--server-name", "127.0.0.1", "--data-dir", gateway.dataDirectory], output: log)
            try #require(waitForLine(in: log, matching: ": listening on unix:" + socket, timeout: 30) != nil)
        }
        let check = overUnixSocket ? "http://unix:\(socket):/_auth/check" : "http://127.0.0.1:\(gateway.port)/_auth/check"
        let port = try freePort()
        let prefix = enrolled.dir.file("nginx")
        try FileManager.default.createDirectory(atPath: prefix + "/logs", withIntermediateDirectories: true)
        let conf = try enrolled.dir.write("nginx.conf", nginxConfiguration(prefix: prefix, http: """
                server {
                    listen 127.0.0.1:\(port);
                    location = /_auth { proxy_pass http://127.0.0.1:\(gateway.port); }
                    location = /auth-check {
                        internal;
                        proxy_pass \(check);
                        proxy_pass_request_body off;
                        proxy_set_header Content-Length "";
                    }
                    location / {
                        auth_request /auth-check;
                        auth_request_set $crtauth_user $upstream_http_x_authenticated_user;
                        proxy_set_header X-Authenticated-User $crtauth_user;
                        proxy_pass http://127.0.0.1:\(upstream.port);
                    }
                }
            """))
        let server = try ChildProcess(nginx, ["-p", prefix, "-c", conf], output: enrolled.dir.file("nginx.out"))
        defer { server.stop() }
        try waitForPort(port)
        let denied = try curl("http://127.0.0.1:\(port)/app")
        #expect(denied.status == 401)
        let token = try handshakeToken(gateway, agent: enrolled.agent)
        let allowed = try curl("http://127.0.0.1:\(port)/app?q=1", headers: ["Authorization: chap:\(token)", "X-Authenticated-User: mallory"])
        #expect(allowed.status == 200)
        let echo = try #require(try JSONSerialization.jsonObject(with: Data(allowed.body.utf8)) as? [String: Any])
        let headers = (echo["headers"] as? [[String]] ?? []).map { ($0[0].lowercased(), $0[1]) }
        #expect(headers.filter { $0.0 == "x-authenticated-user" }.map(\.1) == ["alice"])
        #expect(echo["path"] as? String == "/app?q=1")
        // The Python plugin also works through nginx (the handshake is proxied to the gateway).
        let output = try Python2.requestsClient("http://127.0.0.1:\(port)/py", user: "alice", version: 1, agent: enrolled.agent)
        #expect(output.hasPrefix("200\n"))
        let badToken = try curl("http://127.0.0.1:\(port)/app", headers: ["Authorization: chap:AXTOnotatoken"])
        #expect(badToken.status == 401)
        if overUnixSocket {
            checker?.stop()
            #expect(!FileManager.default.fileExists(atPath: socket), "the socket file goes when the gateway stops")
        }
    }

    @Test("--listen unix:PATH makes the socket 0660, replaces a socket file left behind, refuses a path that holds anything else and leaves that alone")
    func unixSocketPath() throws {
        let enrolled = try Enrolled()
        let socket = enrolled.dir.file("gw.sock")
        for round in 1...2 {
            // Killed, the first leaves its socket file behind; the second starts over it.
            let log = enrolled.dir.file("unix-\(round).log")
            let gateway = try ChildProcess(try crtauthExecutable(), ["serve", "--listen", "unix:" + socket, "--data-dir", enrolled.dir.file("data")], output: log)
            try #require(waitForLine(in: log, matching: ": listening on unix:" + socket, timeout: 30) != nil, "round \(round)")
            var info = stat()
            #expect(lstat(socket, &info) == 0 && info.st_mode & 0o777 == 0o660, "the gateway's group may connect, nobody else")
            _ = gateway.kill(signal: SIGKILL)
            gateway.stop()
        }
        let file = enrolled.dir.file("not-a-socket")
        try "keep me".write(toFile: file, atomically: true, encoding: .utf8)
        let refusedLog = enrolled.dir.file("refused.log")
        let refused = try ChildProcess(try crtauthExecutable(), ["serve", "--listen", "unix:" + file, "--data-dir", enrolled.dir.file("data")], output: refusedLog)
        defer { refused.stop() }
        #expect(waitForLine(in: refusedLog, matching: "exists and is not a socket", timeout: 30) != nil)
        #expect(refused.wait() != 0)
        #expect(try String(contentsOfFile: file, encoding: .utf8) == "keep me")
    }

    @Test("the secret file: created 0600; refused when group-readable; rotated on SIGHUP without a restart")
    func secrets() throws {
        let enrolled = try Enrolled()
        var gateway: GatewayProcess? = try GatewayProcess(enrolled.dir)
        let secretFile = enrolled.dir.file("data/secret")
        var info = stat()
        #expect(stat(secretFile, &info) == 0 && info.st_mode & 0o777 == 0o600)
        let oldToken = try handshakeToken(gateway!, agent: enrolled.agent)
        let oldSecret = try String(contentsOfFile: secretFile, encoding: .utf8)

        // Rotation: a new secret on top; tokens made with the old one still pass.
        let newSecret = Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        try (newSecret + "\n" + oldSecret).write(toFile: secretFile, atomically: true, encoding: .utf8)
        chmod(secretFile, 0o600)
        kill(gateway!.child.pid, SIGHUP)
        #expect(waitForLine(in: gateway!.log, matching: "secrets reloaded", timeout: 10) != nil)
        #expect(try curl(gateway!.url("/whoami"), headers: ["Authorization: chap:\(oldToken)"]).status == 200)
        let newToken = try handshakeToken(gateway!, agent: enrolled.agent)
        // Retiring the old secret: its tokens stop working; the new ones keep working.
        try (newSecret + "\n").write(toFile: secretFile, atomically: true, encoding: .utf8)
        chmod(secretFile, 0o600)
        kill(gateway!.child.pid, SIGHUP)
        let deadline = Date().addingTimeInterval(10)
        while try curl(gateway!.url("/whoami"), headers: ["Authorization: chap:\(oldToken)"]).status != 401, Date() < deadline { usleep(50_000) }
        #expect(try curl(gateway!.url("/whoami"), headers: ["Authorization: chap:\(oldToken)"]).status == 401)
        #expect(try curl(gateway!.url("/whoami"), headers: ["Authorization: chap:\(newToken)"]).status == 200)
        // A broken file is reported and the running secrets stay.
        try "not base64!\n".write(toFile: secretFile, atomically: true, encoding: .utf8)
        chmod(secretFile, 0o600)
        kill(gateway!.child.pid, SIGHUP)
        #expect(waitForLine(in: gateway!.log, matching: "secrets not reloaded", timeout: 10) != nil)
        #expect(try curl(gateway!.url("/whoami"), headers: ["Authorization: chap:\(newToken)"]).status == 200)
        gateway!.stop()
        gateway = nil

        // A group-readable secret file: the gateway refuses to start and says why.
        try (newSecret + "\n").write(toFile: secretFile, atomically: true, encoding: .utf8)
        chmod(secretFile, 0o640)
        let refused = try runProcess(try crtauthExecutable(), ["serve", "--listen", "127.0.0.1:0", "--data-dir", enrolled.dir.file("data")])
        #expect(refused.status != 0 && refused.stderr.contains("chmod 600"))
    }

    @Test("/healthz, /metrics and SIGTERM: health and version without credentials, authentication counters, a clean exit")
    func operations() throws {
        let enrolled = try Enrolled(keyType: "ed25519")
        let gateway = try GatewayProcess(enrolled.dir)
        let version = try mustRun(try crtauthExecutable(), ["--version"]).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(version.split(separator: ".").count == 3, "\(version)")
        let health = try curl(gateway.url("/healthz"))
        #expect(health.status == 200 && health.body == #"{"status":"ok","store":"ok","version":"\#(version)"}"# + "\n", "\(health.body)")
        #expect(gateway.logText.contains("crtauth serve \(version): listening on"))
        _ = try curl(gateway.url("/whoami"), headers: ["Authorization: chap:AXTObad"])
        let metrics = try curl(gateway.url("/metrics"))
        #expect(metrics.status == 200 && metrics.body.contains("crtauth_authentications_total"))
        #expect(gateway.child.kill(signal: SIGTERM) == 0)
    }

    @Test("kill -9 during 'crtauth keys add' loses no key the command reported as added")
    func killDuringAdd() throws {
        let dir = try TemporaryDirectory()
        let data = dir.file("data")
        var reported: [String] = []
        var killedBeforeReporting = 0
        // A run takes ~50 ms here: the kills land from before the database opens to after the
        // commit, 5 ms apart; the last rounds wait up to 800 ms, so that some runs finish even
        // on a loaded machine.
        for round in 0..<24 {
            let key = try sshKeygen(dir, name: "k\(round)", type: "ed25519")
            let output = dir.file("add\(round).out")
            let child = try ChildProcess(try crtauthExecutable(), ["keys", "add", "user\(round % 3)", key + ".pub", "--data-dir", data], output: output)
            usleep(round < 20 ? UInt32(round) * 5_000 : UInt32(round - 19) * 200_000)
            child.kill(signal: SIGKILL)
            if let line = try? String(contentsOfFile: output, encoding: .utf8), line.hasPrefix("added ") {
                reported.append(String(line.split(separator: " ")[1]))
            } else {
                killedBeforeReporting += 1
            }
        }
        #expect(killedBeforeReporting > 0 && !reported.isEmpty)
        // The database is intact and holds every key reported as added; adding still works.
        let listed = try mustRun(try crtauthExecutable(), ["keys", "list", "--data-dir", data])
        for fingerprint in reported { #expect(listed.contains(fingerprint)) }
        let last = try sshKeygen(dir, name: "after", type: "ed25519")
        #expect(try mustRun(try crtauthExecutable(), ["keys", "add", "after", last + ".pub", "--data-dir", data]).hasPrefix("added "))
    }

    @Test("crtauth keys add and remove in another process count for the running gateway's very next handshake")
    func keysChangedWhileServing() throws {
        let dir = try TemporaryDirectory()
        let crtauth = try crtauthExecutable()
        let data = ["--data-dir", dir.file("data")]
        let key = try sshKeygen(dir, name: "ed", type: "ed25519")
        try mustRun(crtauth, ["keys", "add", "alice", key + ".pub"] + data)
        let fingerprint = try SSHPublicKey.parseOpenSSHLine(try String(contentsOfFile: key + ".pub", encoding: .utf8)).key.sha256Fingerprint
        let gateway = try GatewayProcess(dir)
        defer { gateway.stop() }
        let request = CRTAuthClientResponder.request(username: "alice", version: .v2)
        func challengeStatus() throws -> Int { try curl(gateway.url("/_auth"), headers: ["X-CHAP: request:" + request]).status }
        for round in 0..<5 {
            // Asked twice each time: the second is answered from what the gateway kept.
            for _ in 0..<2 { #expect(try challengeStatus() == 200, "round \(round): alice has a key") }
            try mustRun(crtauth, ["keys", "remove", "alice", fingerprint] + data)
            for _ in 0..<2 { #expect(try challengeStatus() == 403, "round \(round): alice's key was removed") }
            try mustRun(crtauth, ["keys", "add", "alice", key + ".pub"] + data)
        }
    }

    @Test("crtauth keys: add, list --json, remove, import; invalid keys refused with the reason, nothing half-written")
    func keysCommand() throws {
        let dir = try TemporaryDirectory()
        let crtauth = try crtauthExecutable()
        let data = ["--data-dir", dir.file("data")]
        let ed = try sshKeygen(dir, name: "ed", type: "ed25519")
        let rsa = try sshKeygen(dir, name: "rsa", type: "rsa", bits: 2048)
        try mustRun(crtauth, ["keys", "add", "alice", ed + ".pub", "--comment", "laptop"] + data)
        try mustRun(crtauth, ["keys", "add", "alice", "-"] + data, stdin: Array(try String(contentsOfFile: rsa + ".pub", encoding: .utf8).utf8))
        let listed = try JSONSerialization.jsonObject(with: Data(try mustRun(crtauth, ["keys", "list", "alice", "--json"] + data).utf8)) as? [[String: Any]]
        #expect(listed?.count == 2 && listed?.first?["comment"] as? String == "laptop")

        // An authorized_keys file with one bad line: refused whole, with the line number.
        let authorized = try dir.write("authorized_keys", try String(contentsOfFile: rsa + ".pub", encoding: .utf8) + "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIbroken bob\n")
        let refused = try runProcess(crtauth, ["keys", "import", "--user", "bob", authorized] + data)
        #expect(refused.status == 1 && refused.stderr.contains("line 2") && refused.stderr.contains("nothing was added"))
        #expect(try mustRun(crtauth, ["keys", "list", "bob"] + data).isEmpty)

        // A crtauth key directory imports in one command.
        let keyDir = dir.file("keys")
        try FileManager.default.createDirectory(atPath: keyDir, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: rsa + ".pub", toPath: keyDir + "/carol_id_rsa.pub")
        #expect(try mustRun(crtauth, ["keys", "import", "dir:" + keyDir] + data).contains("imported 1 key"))

        let fingerprint = try #require(listed?.first?["fingerprint"] as? String)
        #expect(try mustRun(crtauth, ["keys", "remove", "alice", fingerprint] + data).contains("removed"))
        #expect(!(try mustRun(crtauth, ["keys", "list", "alice"] + data)).contains(fingerprint))
        #expect(try runProcess(crtauth, ["keys", "remove", "alice", fingerprint] + data).status == 1)

        // dir: stores hold one RSA key per user, as Python and Java read them.
        let dirStore = ["--store", "dir:" + dir.file("crtauth-keys")]
        try mustRun(crtauth, ["keys", "add", "dave", rsa + ".pub"] + dirStore)
        #expect(FileManager.default.fileExists(atPath: dir.file("crtauth-keys/dave_id_rsa.pub")))
        #expect(try runProcess(crtauth, ["keys", "add", "dave", ed + ".pub"] + dirStore).stderr.contains("RSA keys only"))
    }
}

/// Runs a v1 handshake by hand with the agent's first key (via the Python crtauth client
/// library, the reference), returning the token.
func handshakeToken(_ gateway: GatewayProcess, agent: SSHAgentProcess) throws -> String {
    let (python, path) = try Python2.environment()
    let script = """
        import sys, requests
        from crtauth import client
        url = sys.argv[1]
        r = requests.get(url, headers={'X-CHAP': 'request:' + client.create_request('alice')})
        challenge = r.headers['X-CHAP'].split(':', 1)[1]
        r = requests.get(url, headers={'X-CHAP': 'response:' + client.create_response(challenge, '127.0.0.1')})
        sys.stdout.write(r.headers['X-CHAP'].split(':', 1)[1])
        """
    return try mustRun(python, ["-c", script, gateway.url("/_auth")], environment: agent.environment.merging(["PYTHONPATH": path, "PYTHONWARNINGS": "ignore"]) { $1 })
}

/// Waits until something accepts connections on the loopback `port`.
func waitForPort(_ port: Int, timeout: Double = 20) throws {
    guard waitUntil(canConnect(port: port), timeout: timeout) else { throw ProcessError(message: "nothing listens on 127.0.0.1:\(port)") }
}
