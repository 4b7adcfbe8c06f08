import Foundation
import TestSupport
import Testing

/// `crtauth serve --tls-cert/--tls-key`: HTTPS with HTTP/2 over ALPN, TLS 1.2 or later, the pair
/// reloaded without a restart, an https upstream checked against a CA; certificates made by
/// the test's own CA.
@Suite("crtauth serve over TLS")
struct GatewayTLSTests {
    /// The serial number of the certificate the gateway presents now, from a new connection.
    static func servedSerial(_ port: Int) throws -> String {
        let result = try runProcess("/bin/sh", ["-c", "openssl s_client -connect 127.0.0.1:\(port) -servername localhost </dev/null 2>/dev/null | openssl x509 -noout -serial"])
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func curlTLS(_ ca: TestCertificateAuthority, _ arguments: [String]) throws -> ProcessResult {
        try runProcess("curl", ["-s", "--max-time", "20", "--cacert", ca.certificate] + arguments)
    }

    @Test("HTTPS with HTTP/2 and HTTP/1.1, TLS 1.2 and 1.3 only; plain HTTP and garbage on the port are refused and the server stays up")
    func serves() throws {
        let dir = try TemporaryDirectory()
        let ca = try TestCertificateAuthority(dir)
        let pair = try ca.issue("server")
        let gateway = try GatewayProcess(dir, ["--tls-cert", pair.certificate, "--tls-key", pair.key])
        defer { gateway.stop() }
        #expect(gateway.url("/healthz").hasPrefix("https://"))
        let http2 = try Self.curlTLS(ca, ["--http2", "-o", "/dev/null", "-w", "%{http_code} %{http_version}", gateway.url("/healthz")])
        #expect(http2.stdout == "200 2", "\(http2.stderr)")
        let http1 = try Self.curlTLS(ca, ["--http1.1", "-o", "/dev/null", "-w", "%{http_code} %{http_version}", gateway.url("/healthz")])
        #expect(http1.stdout == "200 1.1")
        // Without credentials, HTTP/2 gets the same 401 and challenge.
        let refused = try Self.curlTLS(ca, ["--http2", "-i", gateway.url("/whoami")])
        #expect(refused.stdout.hasPrefix("HTTP/2 401") && refused.stdout.lowercased().contains("www-authenticate: chap"))
        for version in ["1", "1.1"] {
            let old = try Self.curlTLS(ca, ["--tlsv\(version)", "--tls-max", version, "-o", "/dev/null", gateway.url("/healthz")])
            #expect(old.status != 0, "TLS \(version) was accepted")
        }
        let tls12 = try Self.curlTLS(ca, ["--tlsv1.2", "--tls-max", "1.2", "-o", "/dev/null", "-w", "%{http_code}", gateway.url("/healthz")])
        #expect(tls12.stdout == "200")
        // A TLS 1.2 suite without forward secrecy or AEAD is not offered.
        let weak = try runProcess("/bin/sh", ["-c", "openssl s_client -connect 127.0.0.1:\(gateway.port) -tls1_2 -cipher AES128-SHA </dev/null"])
        #expect(!weak.stdout.contains("Cipher is AES128-SHA"))
        // Plain HTTP, then bytes that are no ClientHello, on the TLS port.
        let plain = try runProcess("curl", ["-s", "--max-time", "5", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(gateway.port)/healthz"])
        #expect(plain.stdout != "200")
        _ = try runProcess("python3", ["-c", "import socket; s = socket.create_connection(('127.0.0.1', \(gateway.port))); s.sendall(b'\\x16\\x03\\x01\\xff\\xff' + b'garbage' * 100); s.settimeout(5); print(s.recv(100))"])
        let after = try Self.curlTLS(ca, ["-o", "/dev/null", "-w", "%{http_code}", gateway.url("/healthz")])
        #expect(after.stdout == "200")
    }

    @Test("the certificate is reloaded on SIGHUP and on change; a key that is not the certificate's keeps the old pair")
    func reloads() throws {
        let dir = try TemporaryDirectory()
        let ca = try TestCertificateAuthority(dir)
        let first = try ca.issue("first", serial: 0x1111)
        let certificate = dir.file("serve.crt"), key = dir.file("serve.key")
        try FileManager.default.copyItem(atPath: first.certificate, toPath: certificate)
        try FileManager.default.copyItem(atPath: first.key, toPath: key)
        let gateway = try GatewayProcess(dir, ["--tls-cert", certificate, "--tls-key", key])
        defer { gateway.stop() }
        #expect(try Self.servedSerial(gateway.port) == "serial=1111")

        // A new pair, then SIGHUP: new connections get it.
        let second = try ca.issue("second", serial: 0x2222)
        try Data(contentsOf: URL(fileURLWithPath: second.certificate)).write(to: URL(fileURLWithPath: certificate))
        try Data(contentsOf: URL(fileURLWithPath: second.key)).write(to: URL(fileURLWithPath: key))
        kill(gateway.child.pid, SIGHUP)
        #expect(waitForLine(in: gateway.log, matching: "TLS certificate reloaded", timeout: 10) != nil, "\(gateway.logText)")
        #expect(try Self.servedSerial(gateway.port) == "serial=2222")

        // The first pair's key under the second certificate: refused, the second pair stays.
        let third = try ca.issue("third", serial: 0x3333)
        try Data(contentsOf: URL(fileURLWithPath: third.certificate)).write(to: URL(fileURLWithPath: certificate))
        kill(gateway.child.pid, SIGHUP)
        #expect(waitForLine(in: gateway.log, matching: "TLS certificate not reloaded", timeout: 10) != nil, "\(gateway.logText)")
        #expect(try Self.servedSerial(gateway.port) == "serial=2222")
        #expect(try Self.curlTLS(ca, ["-o", "/dev/null", "-w", "%{http_code}", gateway.url("/healthz")]).stdout == "200")

        // The matching key arrives: the change is noticed without a signal.
        try Data(contentsOf: URL(fileURLWithPath: third.key)).write(to: URL(fileURLWithPath: key))
        let deadline = Date().addingTimeInterval(15)
        while try Self.servedSerial(gateway.port) != "serial=3333", Date() < deadline { usleep(200_000) }
        #expect(try Self.servedSerial(gateway.port) == "serial=3333")
    }

    @Test("an https upstream is checked against --upstream-ca (or the system's CAs); a --public-path passes without credentials")
    func httpsUpstream() throws {
        let dir = try TemporaryDirectory()
        let ca = try TestCertificateAuthority(dir)
        let upstream = try EchoUpstream(dir, tls: try ca.issue("upstream"))
        defer { upstream.child.stop() }
        let trusted = try GatewayProcess(dir, ["--upstream", upstream.url, "--upstream-ca", ca.certificate, "--public-path", "/open/"], name: "trusted")
        defer { trusted.stop() }
        let open = try curl(trusted.url("/open/page?x=1"))
        #expect(open.status == 200 && open.header("X-Upstream") == "echo")
        let echo = try #require(try JSONSerialization.jsonObject(with: Data(open.body.utf8)) as? [String: Any])
        #expect(echo["path"] as? String == "/open/page?x=1")
        #expect(!((echo["headers"] as? [[String]]) ?? []).contains { $0[0].lowercased().hasPrefix("x-authenticated-") })
        // Only below the public prefix, and never by a path that climbs out of it.
        for path in ["/open", "/private", "/open/../private", "/open/%2e%2e/private", "/open/..%2fprivate"] {
            let response = try runProcess("curl", ["-s", "--path-as-is", "-o", "/dev/null", "-w", "%{http_code}", trusted.url(path)])
            #expect(response.stdout == "401", "\(path): \(response.stdout)")
        }
        // An upstream whose CA is not trusted is a 502, not a request sent.
        let untrusted = try GatewayProcess(dir, ["--upstream", upstream.url, "--public-path", "/open/"], name: "untrusted")
        defer { untrusted.stop() }
        #expect(try curl(untrusted.url("/open/page")).status == 502)
    }

    @Test("a certificate that cannot be served stops the start with one line, before a secret file is made")
    func badPairAtStart() throws {
        let dir = try TemporaryDirectory()
        let ca = try TestCertificateAuthority(dir)
        let first = try ca.issue("first"), second = try ca.issue("second")
        let cases: [([String], String)] = [
            (["--tls-cert", dir.file("missing.pem"), "--tls-key", first.key], "cannot read the TLS certificate"),
            (["--tls-cert", first.certificate, "--tls-key", dir.file("missing.key")], "cannot read the TLS key"),
            (["--tls-cert", first.certificate, "--tls-key", second.key], "is not the key of the certificate"),
        ]
        for (arguments, message) in cases {
            let data = dir.file("data-\(message.count)")
            let result = try runProcess(try crtauthExecutable(), ["serve", "--listen", "127.0.0.1:0", "--data-dir", data] + arguments)
            #expect(result.status == 1 && result.stderr.contains(message) && result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
            #expect(!FileManager.default.fileExists(atPath: data + "/secret"))
        }
    }

    @Test("listening beyond loopback without TLS warns and names --tls-cert")
    func plainWarning() throws {
        let dir = try TemporaryDirectory()
        let log = dir.file("serve.log")
        let child = try ChildProcess(try crtauthExecutable(), ["serve", "--listen", "0.0.0.0:0", "--server-name", "api.example.com", "--data-dir", dir.file("data")], output: log)
        defer { child.stop() }
        let warning = waitForLine(in: log, matching: "--tls-cert", timeout: 30)
        #expect(warning?.contains("plain HTTP") == true, "\((try? dir.read("serve.log")) ?? "")")
    }
}
