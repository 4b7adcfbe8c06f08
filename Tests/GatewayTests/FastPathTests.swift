import Foundation
import TestSupport
import Testing

/// Requests with a crtauth token are answered without the router (`GatewayFastPath`), over a
/// pool of upstream connections: what the client, the upstream and the logs see must be what
/// the router gives, order and timeouts must hold on a connection that mixes both, and large
/// answers and uploads must stream with back-pressure.
@Suite("crtauth serve fast path")
struct FastPathTests {
    /// Fields of an echo upstream's answer that differ between any two answers.
    static let varying: Set<String> = ["date"]

    @Test("the fast path and the router send the upstream the same fields, pass back the same answer and log the same line")
    func sameAsRouter() throws {
        let enrolled = try GatewayTests.Enrolled()
        let upstream = try EchoUpstream(enrolled.dir)
        defer { upstream.child.stop() }
        let log = enrolled.dir.file("access.log")
        let gateway = try GatewayProcess(enrolled.dir, ["--upstream", upstream.url, "--access-log", log, "--log-format", "json"])
        defer { gateway.stop() }
        let token = try handshakeToken(gateway, agent: enrolled.agent)
        let sent = ["Authorization: chap:\(token)", "X-Forwarded-For: 6.6.6.6", "X-Authenticated-User: mallory", "Cookie: a=1", "Cookie: b=2", "Accept: */*"]
        // `Connection: keep-alive` changes nothing upstream (it is hop-by-hop) but keeps the
        // request off the fast path.
        let fast = try curl(gateway.url("/api/items?x=1"), headers: sent)
        let routed = try curl(gateway.url("/api/items?x=1"), headers: sent + ["Connection: keep-alive"])
        #expect(fast.status == 200 && routed.status == 200)
        let fastSeen = try ProxyHeadersTests.seen(fast), routedSeen = try ProxyHeadersTests.seen(routed)
        #expect(fastSeen.headers == routedSeen.headers)
        #expect(fastSeen.headers["x-authenticated-user"] == ["alice"] && fastSeen.headers["authorization"] == nil)
        func answer(_ exchange: HTTPExchange) -> [String] {
            exchange.headers.filter { !Self.varying.contains($0.0.lowercased()) }.map { "\($0.0.lowercased()): \($0.1)" }.sorted()
        }
        #expect(answer(fast) == answer(routed))
        // The bodies (the upstream's echo) differ only in the case of `Host`, AsyncHTTPClient's `host`.
        #expect(fastSeen.method == routedSeen.method && fastSeen.body == routedSeen.body)

        // A line is written after its answer has gone: the client may read the answer first.
        func lines() -> [Substring] { ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n") }
        _ = waitUntil(lines().filter { $0.contains("/api/items") }.count == 2, timeout: 5)
        let records = try lines().map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
            .filter { $0["path"] as? String == "/api/items" }
        try #require(records.count == 2)
        let fields = ["method", "path", "status", "bytes", "user", "scheme", "level", "msg"]
        for field in fields { #expect("\(records[0][field] ?? "-")" == "\(records[1][field] ?? "-")", "\(field)") }
        #expect(Set(records[0].keys) == Set(records[1].keys))
        #expect(!lines().joined().contains(token))
    }

    @Test("a handshake on the fast path gets what the router gives: challenge and token, audit line, access-log line")
    func handshakeSameAsRouter() throws {
        let enrolled = try GatewayTests.Enrolled()
        let log = enrolled.dir.file("access.log")
        let gateway = try GatewayProcess(enrolled.dir, ["--access-log", log, "--log-format", "json"])
        defer { gateway.stop() }
        // requests sends `Connection: keep-alive`, which keeps a request off the fast path;
        // without it (None drops the field) the handshake is answered there.
        let (python, path) = try Python2.environment()
        let script = """
            import sys, requests
            from crtauth import client
            url = sys.argv[1]
            for name, extra in (('router', {}), ('fast', {'Connection': None})):
                r = requests.get(url, headers=dict(extra, **{'X-CHAP': 'request:' + client.create_request('alice')}))
                challenge = r.headers['X-CHAP'].split(':', 1)[1]
                r = requests.get(url, headers=dict(extra, **{'X-CHAP': 'response:' + client.create_response(challenge, '127.0.0.1')}))
                token = r.headers['X-CHAP'].split(':', 1)[1]
                r = requests.get(url.replace('/_auth', '/whoami'), headers={'Authorization': 'chap:' + token})
                sys.stdout.write('%s %d %s\\n' % (name, r.status_code, r.json()['user']))
            """
        let output = try mustRun(python, ["-c", script, gateway.url("/_auth")], environment: enrolled.agent.environment.merging(["PYTHONPATH": path, "PYTHONWARNINGS": "ignore"]) { $1 })
        #expect(output.split(separator: "\n") == ["router 200 alice", "fast 200 alice"], "\(output)")

        let records = AccessLogTests.jsonLines(try String(contentsOfFile: log, encoding: .utf8)).filter { $0["path"] as? String == "/_auth" }
        try #require(records.count == 4)
        let fields = ["method", "path", "status", "bytes", "user", "key", "scheme", "level", "msg"]
        for (routed, fast) in [(records[0], records[2]), (records[1], records[3])] {
            for field in fields { #expect("\(routed[field] ?? "-")" == "\(fast[field] ?? "-")", "\(field)") }
            #expect(Set(routed.keys) == Set(fast.keys))
        }
        #expect(records[1]["user"] as? String == "alice" && (records[1]["key"] as? String)?.hasPrefix("SHA256:") == true)
        let audit = AccessLogTests.jsonLines(gateway.logText).filter { $0["msg"] as? String == "authentication" && $0["result"] as? String == "success" }
        try #require(audit.count == 2, "\(gateway.logText)")
        for field in ["scheme", "user", "key", "result", "level"] { #expect("\(audit[0][field] ?? "-")" == "\(audit[1][field] ?? "-")", "\(field)") }
        #expect(Set(audit[0].keys) == Set(audit[1].keys))
    }

    @Test("answers are framed as RFC 9112 says, on either path: chunked bodies re-chunked, none for HEAD, 204 and 304, nothing left over")
    func framing() throws {
        let enrolled = try GatewayTests.Enrolled()
        let upstream = try EchoUpstream(enrolled.dir)
        defer { upstream.child.stop() }
        let gateway = try GatewayProcess(enrolled.dir, ["--upstream", upstream.url])
        defer { gateway.stop() }
        let token = try handshakeToken(gateway, agent: enrolled.agent)
        // `Connection: keep-alive` sends a request through the router (and AsyncHTTPClient).
        let exchanges: [(method: String, path: String, fields: [String], status: Int, body: String?)] = [
            ("GET", "/chunked", ["Authorization: chap:\(token)"], 200, "first second third"),
            ("GET", "/chunked", ["Authorization: chap:\(token)", "Connection: keep-alive"], 200, "first second third"),
            ("HEAD", "/x", ["Authorization: chap:\(token)"], 200, nil),
            ("HEAD", "/x", [], 401, nil),
            ("GET", "/status/204", ["Authorization: chap:\(token)"], 204, nil),
            ("GET", "/status/304", ["Authorization: chap:\(token)", "Connection: keep-alive"], 304, nil),
            ("GET", "/x", ["Authorization: chap:\(token)", "Connection: close"], 200, nil),
        ]
        let file = try enrolled.dir.write("framing", exchanges.map { exchange in
            "\(exchange.method) \(exchange.path) HTTP/1.1\r\nHost: 127.0.0.1\r\n" + exchange.fields.map { $0 + "\r\n" }.joined() + "\r\n"
        }.joined())
        let raw = try mustRun("python3", [try Python2.peer("raw_client.py"), "raw", String(gateway.port), file])
        var bytes = try #require(Data(base64Encoded: raw.trimmingCharacters(in: .whitespacesAndNewlines)))[...]
        for exchange in exchanges {
            let answer = try #require(try Self.readAnswer(&bytes, toHEAD: exchange.method == "HEAD"), "\(exchange.method) \(exchange.path)")
            #expect(answer.status == exchange.status, "\(exchange.method) \(exchange.path)")
            if let body = exchange.body { #expect(answer.body == body, "\(exchange.method) \(exchange.path)") }
            if exchange.method == "HEAD" || exchange.status == 204 || exchange.status == 304 { #expect(answer.body.isEmpty) }
        }
        #expect(bytes.isEmpty, "left over: \(String(decoding: bytes, as: UTF8.self))")
    }

    /// One answer taken from the front of `bytes`, its body read as RFC 9112 §6.3 frames it;
    /// nil when it is not a whole, well-formed answer.
    static func readAnswer(_ bytes: inout Data.SubSequence, toHEAD: Bool) throws -> (status: Int, body: String)? {
        guard let end = bytes.firstRange(of: Data("\r\n\r\n".utf8)) else { return nil }
        let head = String(decoding: bytes[..<end.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
        bytes = bytes[end.upperBound...]
        guard let status = head.first?.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) else { return nil }
        var fields: [String: String] = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { return nil }
            guard fields.updateValue(line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces), forKey: line[..<colon].lowercased()) == nil else { return nil }
        }
        if toHEAD || status == 204 || status == 304 || status < 200 {
            #expect(status >= 200 || fields["content-length"] == nil)
            return (status, "")
        }
        var body = Data()
        if fields["transfer-encoding"] == "chunked" {
            #expect(fields["content-length"] == nil)
            while true {
                guard let line = bytes.firstRange(of: Data("\r\n".utf8)), let size = Int(String(decoding: bytes[..<line.lowerBound], as: UTF8.self), radix: 16) else { return nil }
                bytes = bytes[line.upperBound...]
                guard bytes.count >= size + 2 else { return nil }
                body += bytes.prefix(size)
                bytes = bytes.dropFirst(size)
                guard bytes.prefix(2) == Data("\r\n".utf8) else { return nil }
                bytes = bytes.dropFirst(2)
                if size == 0 { break }
            }
        } else {
            guard let length = fields["content-length"].flatMap({ Int($0) }), bytes.count >= length else { return nil }
            body = Data(bytes.prefix(length))
            bytes = bytes.dropFirst(length)
        }
        return (status, String(decoding: body, as: UTF8.self))
    }

    @Test("pipelined requests are answered in order when the fast path and the router take turns", arguments: [false, true])
    func pipelinedOrder(proxying: Bool) throws {
        let enrolled = try GatewayTests.Enrolled()
        let upstream = try EchoUpstream(enrolled.dir)
        defer { upstream.child.stop() }
        let gateway = try GatewayProcess(enrolled.dir, proxying ? ["--upstream", upstream.url] : [])
        defer { gateway.stop() }
        let token = try handshakeToken(gateway, agent: enrolled.agent)
        let path = proxying ? "/slow?seconds=0.5" : "/whoami"
        func request(_ token: String?, _ path: String) -> String {
            "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n" + (token.map { "Authorization: chap:\($0)\r\n" } ?? "") + "\r\n"
        }
        // Router, fast, router (a bad token), fast, router (a handshake without a request), fast.
        let file = try enrolled.dir.write("pipelined", request(nil, path) + request(token, path) + request("AAAA", path)
            + request(token, "/whoami") + request(nil, "/_auth") + request(token, proxying ? "/echo" : "/whoami"))
        let statuses = try mustRun("python3", [try Python2.peer("raw_client.py"), "statuses", String(gateway.port), file])
            .split(separator: "\n").map { $0.split(separator: " ").dropFirst().first.map(String.init) ?? "" }
        #expect(statuses == ["401", "200", "401", "200", "400", "200"], "\(statuses)")
    }

    @Test("after a fast answer a keep-alive connection waits the idle timeout, not the head timeout")
    func idleAfterFastAnswer() throws {
        let enrolled = try GatewayTests.Enrolled()
        let gateway = try GatewayProcess(enrolled.dir, ["--header-timeout", "1", "--idle-timeout", "5"])
        defer { gateway.stop() }
        let token = try handshakeToken(gateway, agent: enrolled.agent)
        let file = try enrolled.dir.write("request", "GET /whoami HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: chap:\(token)\r\n\r\n")
        let statuses = try mustRun("python3", [try Python2.peer("raw_client.py"), "twice", String(gateway.port), file, "2.5"])
        #expect(statuses.split(separator: "\n") == ["HTTP/1.1 200 OK", "HTTP/1.1 200 OK"], "\(statuses)")
    }

    @Test("an upstream that closes idle connections, one that answers before reading the body, one that is gone: a fresh connection, its answer, then 502")
    func upstreamConnections() throws {
        let enrolled = try GatewayTests.Enrolled()
        let nginx = ProcessInfo.processInfo.environment["CRTAUTH_TEST_NGINX"] ?? "/usr/sbin/nginx"
        let prefix = enrolled.dir.file("nginx")
        try FileManager.default.createDirectory(atPath: prefix + "/logs", withIntermediateDirectories: true)
        let port = try freePort()
        let conf = try enrolled.dir.write("nginx.conf", nginxConfiguration(prefix: prefix, http: """
                keepalive_timeout 1s;
                server { listen 127.0.0.1:\(port); location / { return 200 "upstream\\n"; } location /early { return 413 "early\\n"; } }
            """))
        let server = try ChildProcess(nginx, ["-p", prefix, "-c", conf], output: enrolled.dir.file("nginx.out"))
        defer { server.stop() }
        try waitForPort(port)
        let gateway = try GatewayProcess(enrolled.dir, ["--upstream", "http://127.0.0.1:\(port)"])
        defer { gateway.stop() }
        let token = try handshakeToken(gateway, agent: enrolled.agent)
        for pause in [0, 1_500_000, 100_000] {
            usleep(useconds_t(pause))
            let answer = try curl(gateway.url("/a"), headers: ["Authorization: chap:\(token)"])
            #expect(answer.status == 200 && answer.body == "upstream\n", "after \(pause) µs: \(answer.status)")
        }
        // An upstream that answers before it reads the body (nginx's `return` does): its answer
        // comes back and the gateway lives on (it used to trap: the upload still waiting for
        // the client's next bytes while Hummingbird began reading the rest of the body).
        let upload = enrolled.dir.file("upload")
        #expect(FileManager.default.createFile(atPath: upload, contents: nil) && truncate(upload, 64 << 20) == 0)
        for _ in 0..<3 {
            let early = try runProcess("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", "Expect:", "-H", "Authorization: chap:\(token)", "-T", upload, gateway.url("/early")])
            #expect(early.stdout == "413")
        }
        #expect(try curl(gateway.url("/a"), headers: ["Authorization: chap:\(token)"]).status == 200)
        server.stop()
        let gone = try curl(gateway.url("/a"), headers: ["Authorization: chap:\(token)"])
        #expect(gone.status == 502 && gone.body == "Bad Gateway: the upstream did not answer\n")
        #expect(try curl(gateway.url("/whoami"), headers: ["Authorization: chap:\(token)"]).status == 502)
    }

    @Test("an upstream slower than --upstream-timeout is a 504 and the connection goes on")
    func upstreamTimeout() throws {
        let enrolled = try GatewayTests.Enrolled()
        let upstream = try EchoUpstream(enrolled.dir)
        defer { upstream.child.stop() }
        let gateway = try GatewayProcess(enrolled.dir, ["--upstream", upstream.url, "--upstream-timeout", "1"])
        defer { gateway.stop() }
        let token = try handshakeToken(gateway, agent: enrolled.agent)
        let request = { (path: String) in "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: chap:\(token)\r\n\r\n" }
        let file = try enrolled.dir.write("requests", request("/slow?seconds=3") + request("/echo"))
        let started = Date()
        let statuses = try mustRun("python3", [try Python2.peer("raw_client.py"), "statuses", String(gateway.port), file])
        #expect(statuses.split(separator: "\n") == ["HTTP/1.1 504 Gateway Timeout", "HTTP/1.1 200 OK"], "\(statuses)")
        #expect(Date().timeIntervalSince(started) < 6)
    }

    @Test("graceful shutdown lets a proxied answer under way finish")
    func gracefulShutdown() async throws {
        let enrolled = try GatewayTests.Enrolled()
        let upstream = try EchoUpstream(enrolled.dir)
        defer { upstream.child.stop() }
        let gateway = try GatewayProcess(enrolled.dir, ["--upstream", upstream.url])
        defer { gateway.stop() }
        let token = try handshakeToken(gateway, agent: enrolled.agent)
        async let slow = curl(gateway.url("/slow"), headers: ["Authorization: chap:\(token)"])
        // Stopped once the request has reached the upstream (a fixed second lost the race on a
        // loaded machine). The wait sleeps rather than blocks: curl's task needs a thread of the pool.
        let log = enrolled.dir.file("upstream.log")
        for _ in 0..<400 where !((try? String(contentsOfFile: log, encoding: .utf8))?.contains("slow request under way") ?? false) {
            try await Task.sleep(for: .milliseconds(50))
        }
        _ = gateway.child.kill(signal: SIGTERM)
        let answer = try await slow
        #expect(answer.status == 200 && answer.header("X-Upstream") == "echo")
    }

    @Test("a slow upstream reader holds a 96 MiB upload back, a slow client a 96 MiB download: the gateway's memory stays flat")
    func backPressure() throws {
        let enrolled = try GatewayTests.Enrolled()
        let upstream = try EchoUpstream(enrolled.dir)
        defer { upstream.child.stop() }
        let gateway = try GatewayProcess(enrolled.dir, ["--upstream", upstream.url, "--max-body", String(128 << 20)])
        defer { gateway.stop() }
        let token = try handshakeToken(gateway, agent: enrolled.agent)
        let size = 96 << 20
        let file = enrolled.dir.file("upload")
        #expect(FileManager.default.createFile(atPath: file, contents: nil) && truncate(file, off_t(size)) == 0)
        func peakMB() throws -> Int {
            let status = try String(contentsOfFile: "/proc/\(gateway.child.pid)/status", encoding: .utf8)
            let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") })
            return (Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]) ?? 0) / 1024
        }
        #expect(try curl(gateway.url("/source?bytes=1024"), headers: ["Authorization: chap:\(token)"]).status == 200)
        let before = try peakMB()
        // The upstream reads 64 KiB every 5 ms (about 12 MiB/s); curl could send far faster.
        let upload = try runProcess("curl", ["-s", "--max-time", "120", "-H", "Authorization: chap:\(token)", "-T", file, gateway.url("/sink")])
        #expect(upload.stdout == "{\"bytes\": \(size)}", "\(upload.stdout) \(upload.stderr)")
        // curl reads at 16 MiB/s; the upstream could send far faster.
        let download = try runProcess("curl", ["-s", "--max-time", "120", "--limit-rate", "16M", "-o", "/dev/null", "-w", "%{http_code} %{size_download}",
                                               "-H", "Authorization: chap:\(token)", gateway.url("/source?bytes=\(size)")])
        #expect(download.stdout == "200 \(size)")
        let growth = try peakMB() - before
        #expect(growth <= 32, "peak resident memory grew by \(growth) MB")
    }
}
