import Foundation
import TestSupport
import Testing

/// `crtauth serve`'s access log: one line per request in text (logfmt) or JSON, with who and
/// why, never a credential; the file is reopened on SIGHUP for logrotate.
@Suite("crtauth serve access log", .serialized)
struct AccessLogTests {
    static func jsonLines(_ text: String) -> [[String: Any]] {
        text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    @Test("JSON lines for every scheme and refusal, no query and no credential in any line; reopened after logrotate's move")
    func json() throws {
        let enrolled = try GatewayTests.Enrolled(keyType: "ed25519")
        let upstream = try EchoUpstream(enrolled.dir)
        defer { upstream.child.stop() }
        let accessFile = enrolled.dir.file("access.log")
        let gateway = try GatewayProcess(enrolled.dir, ["--upstream", upstream.url, "--schemes", "chap,jwt,signature,serveradmin", "--log-format", "json", "--access-log", accessFile])
        defer { gateway.stop() }

        #expect(try curl(gateway.url("/api/items?api_key=hunter2")).status == 401)
        #expect(try curl(gateway.url("/api/items"), headers: ["Authorization: chap:not-a-token"]).status == 401)
        for scheme in ["chap", "jwt", "signature", "serveradmin"] {
            let result = try ClientCommandTests.client(["curl", "--fail", "--scheme", scheme, "-d", "hello", gateway.url("/items")], agent: enrolled.agent, cache: enrolled.dir)
            #expect(result.status == 0, "\(scheme): \(result.stderr)")
        }
        // Lines are written once the answer is sent: wait for the last.
        let deadline = Date().addingTimeInterval(10)
        while Self.jsonLines((try? String(contentsOfFile: accessFile, encoding: .utf8)) ?? "").count < 8, Date() < deadline { usleep(50_000) }
        let text = try String(contentsOfFile: accessFile, encoding: .utf8)
        let lines = Self.jsonLines(text)
        #expect(lines.count == text.split(separator: "\n").count, "every line is one JSON object: \(text)")
        for line in lines {
            #expect(line["status"] is Int && line["bytes"] is Int && line["duration"] is Double, "numbers are numbers: \(line)")
            for field in ["time", "level", "msg", "peer", "method", "path", "status", "bytes", "duration"] { #expect(line[field] != nil, "\(field) in \(line)") }
        }
        let refused = lines.filter { $0["status"] as? Int == 401 }
        #expect(refused.contains { $0["path"] as? String == "/api/items" && $0["reason"] as? String == "no-credentials" })
        #expect(refused.contains { $0["reason"] as? String == "malformed" && $0["scheme"] as? String == "chap" })
        #expect(lines.contains { $0["path"] as? String == "/_auth" && $0["scheme"] as? String == "crtauth-v2" && $0["user"] as? String == "alice" && $0["key"] as? String == enrolled.fingerprint })
        for scheme in ["chap", "jwt", "signature", "serveradmin"] {
            #expect(lines.contains { $0["path"] as? String == "/items" && $0["status"] as? Int == 201 && $0["scheme"] as? String == scheme && $0["user"] as? String == "alice" }, "\(scheme): \(text)")
        }
        #expect(lines.contains { $0["scheme"] as? String == "signature" && $0["key"] as? String == enrolled.fingerprint })
        // The proxied answers' bytes are counted as they stream.
        #expect(lines.contains { $0["path"] as? String == "/items" && ($0["bytes"] as? Int ?? 0) > 100 })

        // No credential, signature or query anywhere, in the access log or the server's own log.
        let everything = (text + gateway.logText).lowercased()
        for secret in ["chap:", "authorization", "hunter2", "not-a-token", "sig1=", "eyj", "x-signatures", "api_key"] {
            #expect(!everything.contains(secret), "\(secret) was logged")
        }
        #expect(Self.jsonLines(gateway.logText).contains { $0["msg"] as? String == "authentication" }, "the server's own log is JSON too")

        // logrotate: the file is moved away, SIGHUP, the next line goes to a new file.
        try FileManager.default.moveItem(atPath: accessFile, toPath: accessFile + ".1")
        kill(gateway.child.pid, SIGHUP)
        #expect(waitForLine(in: gateway.log, matching: "access log reloaded", timeout: 10) != nil)
        _ = try curl(gateway.url("/healthz"))
        #expect(waitForLine(in: accessFile, matching: "/healthz", timeout: 10) != nil)
    }

    @Test("text lines are logfmt, fields in a fixed order; --access-log off writes none")
    func text() throws {
        let dir = try TemporaryDirectory()
        let gateway = try GatewayProcess(dir)
        defer { gateway.stop() }
        _ = try curl(gateway.url("/whoami?token=x"))
        let line = try #require(waitForLine(in: gateway.log, matching: "msg=request", timeout: 10))
        #expect(line.hasPrefix("time=20") && line.contains(" level=info msg=request peer=127.0.0.1:") && line.contains(" method=GET path=/whoami status=401 bytes=13 duration=0."), "\(line)")
        #expect(line.hasSuffix("reason=no-credentials"))
        let quiet = try GatewayProcess(dir, ["--access-log", "off"], name: "quiet")
        defer { quiet.stop() }
        _ = try curl(quiet.url("/whoami"))
        usleep(300_000)
        #expect(!quiet.logText.contains("msg=request"))
    }
}
