import Foundation
import TestSupport
import Testing

/// `crtauth serve` as an operator deploys it: a configuration file with TLS, the admin
/// listener, JSON access logs to a file and an upstream; driven by the Python requests-crtauth
/// plugin over HTTPS (trusting the test's CA), `crtauth curl`, plain curl over HTTP/2 and a
/// WebSocket client over TLS.
@Suite("crtauth serve deployed: config file, TLS, admin listener, JSON logs, upstream")
struct ProductionGatewayTests {
    @Test("requests-crtauth over HTTPS, crtauth curl, curl --http2 and a wss:// client reach the upstream as alice; admin, metrics and logs agree")
    func deployed() throws {
        let enrolled = try GatewayTests.Enrolled()
        let dir = enrolled.dir
        let ca = try TestCertificateAuthority(dir)
        let pair = try ca.issue("gateway")
        let upstream = try EchoUpstream(dir)
        defer { upstream.child.stop() }
        let accessLog = dir.file("access.log")
        let config = try dir.write("serve.yaml", """
            listen: 127.0.0.1:0
            server-name: localhost
            admin-listen: 127.0.0.1:0
            tls:
              cert: \(pair.certificate)
              key: \(pair.key)
            data-dir: \(dir.file("data"))
            upstream: \(upstream.url)
            schemes: [chap, signature]
            log-format: json
            access-log: \(accessLog)

            """)
        let log = dir.file("gateway.log")
        let gateway = try ChildProcess(try crtauthExecutable(), ["serve", "--config", config], output: log)
        defer { gateway.stop() }
        func port(_ marker: String) throws -> String {
            let line = try #require(waitForLine(in: log, matching: marker, timeout: 30), "\((try? dir.read("gateway.log")) ?? "")")
            return String(line.components(separatedBy: marker)[1].prefix(while: \.isNumber))
        }
        let base = "https://localhost:" + (try port(": listening on https://127.0.0.1:"))
        let admin = "http://127.0.0.1:" + (try port("admin listening on http://127.0.0.1:"))

        // The Python plugin (v1, RSA from the agent) over HTTPS, verifying with the test's CA.
        let (python, path) = try Python2.environment()
        let output = try mustRun(python, [try Python2.peer("requests_client.py"), base + "/api/items", "alice", "1", "POST", "over tls"],
                                 environment: enrolled.agent.environment.merging(["PYTHONPATH": path, "PYTHONWARNINGS": "ignore", "REQUESTS_CA_BUNDLE": ca.certificate]) { $1 })
        let lines = output.split(separator: "\n")
        #expect(lines.first == "201" && lines.last == "second 201 handshakes 0", "\(output)")
        #expect(output.contains(#"["X-Authenticated-User", "alice"]"#), "\(output)")

        // crtauth curl with a token and with RFC 9421, then plain curl over HTTP/2 with that token.
        for scheme in ["chap", "signature"] {
            let result = try ClientCommandTests.client(["curl", "--fail", "--scheme", scheme, "--cacert", ca.certificate, base + "/api/\(scheme)"], agent: enrolled.agent, cache: dir)
            #expect(result.status == 0 && result.stdout.contains("alice"), "\(scheme): \(result.stderr)")
        }
        let token = try ClientCommandTests.client(["token", "--cacert", ca.certificate, base + "/"], agent: enrolled.agent, cache: dir).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let http2 = try runProcess("curl", ["-s", "--http2", "--cacert", ca.certificate, "-H", "Authorization: chap:\(token)", "-w", "\n%{http_version}", base + "/api/h2"])
        #expect(http2.stdout.hasSuffix("\n2") && http2.stdout.contains("alice"), "\(http2.stdout) \(http2.stderr)")
        // A WebSocket client over TLS with the token in its handshake.
        let ws = try WebSocketTunnelTests.client("wss" + base.dropFirst("https".count) + "/api/ws", ["--ca", ca.certificate, "--header", "Authorization:chap:\(token)", "--message", "over wss"])
        #expect(ws["status"] as? Int == 101 && ws["echoed"] as? Bool == true && WebSocketTunnelTests.seenHeaders(ws)["x-authenticated-user"] == ["alice"], "\(ws)")

        // The admin listener, and the public one without it.
        #expect(try curl(admin + "/readyz").status == 200)
        let metrics = try curl(admin + "/metrics").body
        #expect(metrics.contains(#"route="proxy",status="201""#) && metrics.contains("crtauth_authentications_total"))
        let publicMetrics = try runProcess("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", ca.certificate, base + "/metrics"])
        #expect(publicMetrics.stdout == "401")

        // The access log: JSON, the user on every proxied line, no credential anywhere.
        _ = waitForLine(in: accessLog, matching: "/api/h2", timeout: 10)
        let access = try String(contentsOfFile: accessLog, encoding: .utf8)
        let entries = access.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(entries.count == access.split(separator: "\n").count)
        #expect(entries.filter { ($0["path"] as? String)?.hasPrefix("/api/") == true && $0["status"] as? Int != 401 }.allSatisfy { $0["user"] as? String == "alice" })
        let everything = (access + ((try? dir.read("gateway.log")) ?? "")).lowercased()
        for secret in ["chap:", token.lowercased(), "authorization", "sig1="] { #expect(!everything.contains(secret), "\(secret) was logged") }
    }
}
