import Foundation
import TestSupport
import Testing

/// `docs/deploy.md`, run as written: the files are read from the page (only the addresses,
/// ports and certificate paths an operator changes anyway are replaced), so the page cannot
/// drift from what works.
@Suite("docs/deploy.md: the systemd unit and both nginx configurations", .serialized)
struct DeployDocsTests {
    /// The code block after `<!-- deploy-test: NAME -->` in docs/deploy.md.
    static func block(_ name: String) throws -> String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let page = try String(contentsOf: root.appendingPathComponent("docs/deploy.md"), encoding: .utf8)
        guard let marker = page.range(of: "<!-- deploy-test: \(name) -->") else { throw ProcessError(message: "docs/deploy.md has no \(name)") }
        var lines = page[marker.upperBound...].split(separator: "\n", omittingEmptySubsequences: false).dropFirst()
        guard lines.first?.hasPrefix("```") == true else { throw ProcessError(message: "\(name) is not followed by a code block") }
        lines = lines.dropFirst()
        guard let end = lines.firstIndex(where: { $0.hasPrefix("```") }) else { throw ProcessError(message: "\(name)'s code block does not end") }
        return lines[..<end].joined(separator: "\n") + "\n"
    }

    @Test("the TLS configuration file starts the gateway: HTTPS with the page's settings, the public path proxied")
    func tlsConfigurationFile() throws {
        let dir = try TemporaryDirectory()
        let ca = try TestCertificateAuthority(dir)
        let pair = try ca.issue("api")
        let upstream = try EchoUpstream(dir)
        defer { upstream.child.stop() }
        let file = try Self.block("serve.yaml")
            .replacingOccurrences(of: "0.0.0.0:443", with: "127.0.0.1:0")
            .replacingOccurrences(of: "/var/lib/crtauth", with: dir.file("data"))
            .replacingOccurrences(of: "/etc/crtauth/tls/fullchain.pem", with: pair.certificate)
            .replacingOccurrences(of: "/etc/crtauth/tls/privkey.pem", with: pair.key)
            .replacingOccurrences(of: "http://127.0.0.1:9000", with: upstream.url)
        let config = try dir.write("serve.yaml", file)
        let printed = try runProcess(try crtauthExecutable(), ["serve", "--config", config, "--print-config"])
        #expect(printed.status == 0 && printed.stdout.contains("server-name: \"api.example.com\"  # server-name in \(config)"), "\(printed.stderr)")
        let gateway = try ChildProcess(try crtauthExecutable(), ["serve", "--config", config], output: dir.file("gateway.log"))
        defer { gateway.stop() }
        let line = try #require(waitForLine(in: dir.file("gateway.log"), matching: "listening on https://127.0.0.1:", timeout: 30), "\((try? dir.read("gateway.log")) ?? "")")
        let port = line.components(separatedBy: "listening on https://127.0.0.1:")[1].prefix(while: \.isNumber)
        let health = try runProcess("curl", ["-s", "--cacert", ca.certificate, "-w", "\n%{http_code} %{http_version}", "https://localhost:\(port)/health"])
        #expect(health.stdout.hasSuffix("200 2") && health.stdout.contains("\"path\": \"/health\""), "\(health.stdout) \(health.stderr)")
        let whoami = try runProcess("curl", ["-s", "--cacert", ca.certificate, "-o", "/dev/null", "-w", "%{http_code}", "https://127.0.0.1:\(port)/api"])
        #expect(whoami.stdout == "401")
    }

    @Test("the systemd unit verifies with systemd-analyze (no warning), is hardened, and its ExecStart starts the gateway")
    func systemdUnit() throws {
        let unit = try Self.block("crtauth.service")
        for directive in ["DynamicUser=yes", "StateDirectory=crtauth", "ProtectSystem=strict", "NoNewPrivileges=yes", "ExecReload=/bin/kill -HUP $MAINPID"] {
            #expect(unit.contains("\n" + directive + "\n"), "\(directive)")
        }
        let executable = try crtauthExecutable()
        let dir = try TemporaryDirectory()
        let path = try dir.write("crtauth.service", unit.replacingOccurrences(of: "/usr/local/bin/crtauth", with: executable), mode: 0o644)
        let verified = try runProcess("systemd-analyze", ["verify", path])
        #expect(verified.status == 0 && verified.stderr.isEmpty && verified.stdout.isEmpty, "\(verified.stdout)\(verified.stderr)")

        // ExecStart's command line, with %S as a temporary state directory and a free port.
        let execStart = try #require(unit.split(separator: "\n").first { $0.hasPrefix("ExecStart=") })
        let arguments = execStart.dropFirst("ExecStart=".count).split(separator: " ").dropFirst().map {
            $0.replacingOccurrences(of: "%S", with: dir.path).replacingOccurrences(of: "127.0.0.1:8080", with: "127.0.0.1:0")
        }
        let gateway = try ChildProcess(executable, arguments, output: dir.file("gateway.log"))
        defer { gateway.stop() }
        #expect(waitForLine(in: dir.file("gateway.log"), matching: "listening on http://127.0.0.1:", timeout: 30) != nil,
                "\((try? dir.read("gateway.log")) ?? "")")
    }

    /// A self-signed certificate for 127.0.0.1 under the names the page uses.
    static func certificate(_ dir: TemporaryDirectory) throws -> (directory: String, certificate: String) {
        let tls = dir.file("tls")
        try FileManager.default.createDirectory(atPath: tls, withIntermediateDirectories: true)
        try mustRun("/usr/bin/openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                                         "-keyout", tls + "/api.example.com.key", "-out", tls + "/api.example.com.crt", "-days", "1",
                                         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"])
        return (tls + "/", tls + "/api.example.com.crt")
    }

    /// nginx running the page's `server` block inside a minimal main configuration of the test's.
    static func nginx(_ name: String, dir: TemporaryDirectory, gatewayPort: Int, upstreamPort: Int, tlsDirectory: String) throws -> (ChildProcess, Int) {
        let nginx = ProcessInfo.processInfo.environment["CRTAUTH_TEST_NGINX"] ?? "/usr/sbin/nginx"
        guard FileManager.default.isExecutableFile(atPath: nginx) else {
            throw ProcessError(message: "nginx is not installed (\(nginx)); run the tests with ./scripts/test")
        }
        let port = try freePort()
        let site = try Self.block(name)
            .replacingOccurrences(of: "listen 443 ssl;", with: "listen 127.0.0.1:\(port) ssl;")
            .replacingOccurrences(of: "127.0.0.1:8080", with: "127.0.0.1:\(gatewayPort)")
            .replacingOccurrences(of: "127.0.0.1:9000", with: "127.0.0.1:\(upstreamPort)")
            .replacingOccurrences(of: "/etc/nginx/tls/", with: tlsDirectory)
        let prefix = dir.file("nginx-" + name)
        try FileManager.default.createDirectory(atPath: prefix + "/logs", withIntermediateDirectories: true)
        let sitePath = try dir.write(name, site)
        let conf = try dir.write(name + ".main", nginxConfiguration(prefix: prefix, http: "    include \(sitePath);"))
        let check = try runProcess(nginx, ["-t", "-p", prefix, "-c", conf])
        #expect(check.status == 0 && !check.stderr.contains("[warn]"), "\(check.stderr)")
        let server = try ChildProcess(nginx, ["-p", prefix, "-c", conf], output: dir.file(name + ".out"))
        let deadline = Date().addingTimeInterval(20)
        while (try? runProcess("curl", ["-sk", "-o", "/dev/null", "--max-time", "1", "https://127.0.0.1:\(port)/_auth"]))?.status != 0 {
            guard Date() < deadline else {
                server.stop()
                throw ProcessError(message: "nginx did not start: \((try? String(contentsOfFile: prefix + "/logs/error.log", encoding: .utf8)) ?? "")")
            }
            usleep(50_000)
        }
        return (server, port)
    }

    /// The identity headers the echo upstream saw.
    static func identity(_ body: String) throws -> [String: [String]] {
        let echo = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
        var headers: [String: [String]] = [:]
        for pair in echo["headers"] as? [[String]] ?? [] where pair[0].lowercased().hasPrefix("x-authenticated-") {
            headers[pair[0].lowercased(), default: []].append(pair[1])
        }
        return headers
    }

    @Test("nginx auth_request: no credential 401; a token from crtauth over nginx's TLS passes with the user set by nginx, never the client's")
    func authRequest() throws {
        let enrolled = try GatewayTests.Enrolled(keyType: "ed25519")
        let upstream = try EchoUpstream(enrolled.dir)
        defer { upstream.child.stop() }
        let gateway = try GatewayProcess(enrolled.dir)
        defer { gateway.stop() }
        let tls = try Self.certificate(enrolled.dir)
        let (nginx, port) = try Self.nginx("nginx-auth-request.conf", dir: enrolled.dir, gatewayPort: gateway.port, upstreamPort: upstream.port, tlsDirectory: tls.directory)
        defer { nginx.stop() }
        let base = "https://127.0.0.1:\(port)"
        let denied = try runProcess("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", tls.certificate, base + "/app"])
        #expect(denied.stdout == "401")
        let token = try ClientCommandTests.client(["token", "--cacert", tls.certificate, base + "/"], agent: enrolled.agent, cache: enrolled.dir)
        #expect(token.status == 0, "\(token.stderr)")
        let allowed = try runProcess("curl", ["-s", "--cacert", tls.certificate, "-H", "Authorization: chap:" + token.stdout.trimmingCharacters(in: .whitespacesAndNewlines),
                                              "-H", "X-Authenticated-User: mallory", base + "/app?q=1"])
        let headers = try Self.identity(allowed.stdout)
        // A crtauth token names the user, not the key (PROTOCOL.md): nginx passes on no key header.
        #expect(headers["x-authenticated-user"] == ["alice"] && headers["x-authenticated-key"] == nil, "\(allowed.stdout)")
    }

    @Test("nginx in front: crtauth curl with chap and RFC 9421 and a WebSocket client through nginx's TLS reach the API as alice; /metrics is hidden")
    func inFront() throws {
        let enrolled = try GatewayTests.Enrolled(keyType: "ed25519")
        let upstream = try EchoUpstream(enrolled.dir)
        defer { upstream.child.stop() }
        let gateway = try GatewayProcess(enrolled.dir, ["--upstream", upstream.url, "--external-scheme", "https", "--schemes", "chap,signature"])
        defer { gateway.stop() }
        let tls = try Self.certificate(enrolled.dir)
        let (nginx, port) = try Self.nginx("nginx-in-front.conf", dir: enrolled.dir, gatewayPort: gateway.port, upstreamPort: upstream.port, tlsDirectory: tls.directory)
        defer { nginx.stop() }
        let base = "https://127.0.0.1:\(port)"
        for scheme in ["chap", "signature"] {
            let result = try ClientCommandTests.client(["curl", "--fail", "--scheme", scheme, "--cacert", tls.certificate, "-d", "hello", base + "/items"], agent: enrolled.agent, cache: enrolled.dir)
            try #require(result.status == 0, "\(scheme): \(result.stderr) \(gateway.logText.suffix(600))")
            #expect(try Self.identity(result.stdout)["x-authenticated-user"] == ["alice"], "\(scheme): \(result.stdout)")
        }
        let metrics = try runProcess("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", tls.certificate, base + "/metrics"])
        #expect(metrics.stdout == "404")
        // A WebSocket through nginx and the gateway, with a token.
        let token = try ClientCommandTests.client(["token", "--cacert", tls.certificate, base + "/"], agent: enrolled.agent, cache: enrolled.dir).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let ws = try WebSocketTunnelTests.client("wss://127.0.0.1:\(port)/live", ["--ca", tls.certificate, "--header", "Authorization:chap:\(token)", "--message", "through nginx"])
        #expect(ws["status"] as? Int == 101 && ws["echoed"] as? Bool == true && WebSocketTunnelTests.seenHeaders(ws)["x-authenticated-user"] == ["alice"], "\(ws)")
    }
}
