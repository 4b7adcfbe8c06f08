import Foundation
import TestSupport
import Testing

/// Clients that hold connections or send too much, over real sockets: each is cut off by its
/// limit, and the gateway serves a valid client afterwards.
@Suite("crtauth serve against hostile clients")
struct HostileClientTests {
    static func raw(_ arguments: [String]) throws -> String {
        try mustRun("python3", [try Python2.peer("raw_client.py")] + arguments).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test("a silent client, a byte-a-second head, and an idle keep-alive connection are closed by their timeouts")
    func timeouts() async throws {
        let dir = try TemporaryDirectory()
        let gateway = try GatewayProcess(dir, ["--header-timeout", "2", "--idle-timeout", "3"])
        defer { gateway.stop() }
        let port = String(gateway.port)
        async let silent = Self.raw(["silent", port])
        async let dribble = Self.raw(["dribble", port])
        async let idle = Self.raw(["idle", port])
        let (silentSeconds, dribbleSeconds, idleResult) = try await (Double(silent) ?? 99, Double(dribble) ?? 99, idle)
        #expect(silentSeconds >= 1.5 && silentSeconds < 4, "silent: \(silentSeconds)")
        #expect(dribbleSeconds >= 1.5 && dribbleSeconds < 4, "dribble: \(dribbleSeconds)")
        let parts = idleResult.split(separator: " ")
        #expect(idleResult.hasPrefix("HTTP/1.1 200") && (Double(parts.last ?? "") ?? 99) >= 2.5 && (Double(parts.last ?? "") ?? 99) < 5, "idle: \(idleResult)")
        #expect(try curl(gateway.url("/healthz")).status == 200)
    }

    @Test("past --max-connections a new connection is closed at once, plain or TLS; held ones are still served")
    func connectionLimit() throws {
        let dir = try TemporaryDirectory()
        let gateway = try GatewayProcess(dir, ["--max-connections", "5", "--header-timeout", "30"])
        defer { gateway.stop() }
        let result = try Self.raw(["hold", String(gateway.port), "5"]).split(separator: "\n").map(String.init)
        #expect(result == ["refused", "HTTP/1.1 200 OK"], "\(result)")
        #expect(try curl(gateway.url("/healthz")).status == 200)

        // Over TLS (HTTP/2 or 1.1 by ALPN) the count is the same, and a refused connection gets
        // no handshake.
        let ca = try TestCertificateAuthority(dir)
        let pair = try ca.issue("server")
        let tls = try GatewayProcess(dir, ["--max-connections", "3", "--header-timeout", "30", "--tls-cert", pair.certificate, "--tls-key", pair.key], name: "tls")
        defer { tls.stop() }
        let overTLS = try Self.raw(["hold", String(tls.port), "3", ca.certificate]).split(separator: "\n").map(String.init)
        #expect(overTLS == ["refused", "HTTP/1.1 200 OK"], "\(overTLS)")
    }

    @Test("heads over 16 KiB or 100 fields are a 431; a body over --max-body a 413 before the upstream sees it")
    func sizes() throws {
        let dir = try TemporaryDirectory()
        let upstream = try EchoUpstream(dir)
        defer { upstream.child.stop() }
        let gateway = try GatewayProcess(dir, ["--upstream", upstream.url, "--public-path", "/", "--max-body", "100000"])
        defer { gateway.stop() }
        let port = String(gateway.port)
        let cases: [(String, String)] = [
            ("long-field", "GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + String(repeating: "a", count: 1 << 20) + "\r\n\r\n"),
            ("many-fields", "GET / HTTP/1.1\r\nHost: a\r\n" + (0..<10_000).map { "X-\($0): 1\r\n" }.joined() + "\r\n"),
            ("long-target", "GET /" + String(repeating: "a", count: 64 * 1024) + " HTTP/1.1\r\nHost: a\r\n\r\n"),
        ]
        for (name, request) in cases {
            let file = try dir.write(name, request)
            let answer = try Self.raw(["send", port, file])
            #expect(answer.hasPrefix("HTTP/1.1 431"), "\(name): \(answer)")
        }
        let big = try dir.write("big", String(repeating: "x", count: 200_000))
        let announced = try runProcess("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--data-binary", "@" + big, gateway.url("/upload")])
        #expect(announced.stdout == "413")
        let chunked = try runProcess("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", "Transfer-Encoding: chunked", "--data-binary", "@" + big, gateway.url("/upload")])
        #expect(chunked.stdout == "413")
        let small = try runProcess("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--data-binary", "small", gateway.url("/upload")])
        #expect(small.stdout == "201")
        #expect(try curl(gateway.url("/healthz")).status == 200)
    }
}

extension HostileClientTests {
    @Test("malformed framing is a 400 and a closed connection: two lengths, length with chunking, an overflowing chunk size, bytes a header cannot hold; the gateway serves afterwards")
    func framing() throws {
        let dir = try TemporaryDirectory()
        let upstream = try EchoUpstream(dir)
        defer { upstream.child.stop() }
        let gateway = try GatewayProcess(dir, ["--upstream", upstream.url, "--public-path", "/"])
        defer { gateway.stop() }
        let port = String(gateway.port)
        let cases: [(String, String)] = [
            ("two-lengths", "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!"),
            ("length-and-chunked", "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
            ("chunk-overflow", "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFFFF\r\nabc\r\n"),
            ("nul-in-field", "GET /x HTTP/1.1\r\nHost: a\r\nX-Bad: a\u{0}b\r\n\r\n"),
            ("newline-in-name", "GET /x HTTP/1.1\r\nHost: a\r\nX Bad: 1\r\n\r\n"),
        ]
        for (name, request) in cases {
            let answer = try Self.raw(["send", port, try dir.write(name, request)])
            #expect(answer.hasPrefix("HTTP/1.1 400") || answer == "closed", "\(name): \(answer)")
        }
        // A body longer than announced: the rest is read as the next request, which is refused.
        let longer = try Self.raw(["statuses", port, try dir.write("longer", "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhello")])
        #expect(longer.split(separator: "\n").first == "HTTP/1.1 201 Created", "\(longer)")
        #expect(try curl(gateway.url("/healthz")).status == 200)
    }

    @Test("pipelined requests with valid and invalid credentials are answered in order, each on its own")
    func pipelined() throws {
        let enrolled = try GatewayTests.Enrolled()
        let gateway = try GatewayProcess(enrolled.dir)
        defer { gateway.stop() }
        let token = try handshakeToken(gateway, agent: enrolled.agent)
        let request = { (credential: String) in "GET /whoami HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: chap:\(credential)\r\n\r\n" }
        let file = try enrolled.dir.write("pipelined", request(token) + request("AAAA") + request(token) + request(String(token.dropLast(2)) + "xx") + request(token))
        let statuses = try Self.raw(["statuses", String(gateway.port), file]).split(separator: "\n").map { $0.split(separator: " ")[1] }
        #expect(statuses == ["200", "401", "200", "401", "200"])
    }

    @Test("a body sent a byte at a time holds only its own request: others are served meanwhile")
    func slowBody() async throws {
        let dir = try TemporaryDirectory()
        let upstream = try EchoUpstream(dir)
        defer { upstream.child.stop() }
        let gateway = try GatewayProcess(dir, ["--upstream", upstream.url, "--public-path", "/"])
        defer { gateway.stop() }
        let slow = Task { try Self.raw(["dribble-body", String(gateway.port)]) }
        try await Task.sleep(for: .seconds(1))
        for _ in 0..<5 { #expect(try curl(gateway.url("/x")).status == 200) }
        #expect(try await slow.value.hasPrefix("HTTP/1.1 201"))
    }
}
