import Foundation
import TestSupport
import Testing

/// `crtauth curl`'s curl flags against a real gateway and upstream: -L, -w, -v, -m.
@Suite("crtauth curl: redirects, write-out, verbose, time limits", .serialized)
struct CurlOptionsTests {
    static func headers(_ body: String) throws -> [(String, String)] {
        let echo = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
        return (echo["headers"] as? [[String]] ?? []).map { ($0[0].lowercased(), $0[1]) }
    }

    @Test("-L: same origin is authenticated again; another origin never gets a credential; loops stop at 10 (exit 47); file: is refused")
    func redirects() throws {
        let enrolled = try GatewayTests.Enrolled(keyType: "ed25519")
        let upstream = try EchoUpstream(enrolled.dir)
        defer { upstream.child.stop() }
        let elsewhere = try EchoUpstream(try TemporaryDirectory())
        defer { elsewhere.child.stop() }
        let gateway = try GatewayProcess(enrolled.dir, ["--upstream", upstream.url])
        defer { gateway.stop() }
        func run(_ arguments: [String]) throws -> ProcessResult {
            try ClientCommandTests.client(["curl"] + arguments, agent: enrolled.agent, cache: enrolled.dir)
        }
        let encoded = { (url: String) in url.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? url }

        let notFollowed = try run(["-w", "%{http_code}", gateway.url("/redirect/302?to=/final")])
        #expect(notFollowed.status == 0 && notFollowed.stdout == "302", "\(notFollowed.stdout)\(notFollowed.stderr)")

        let same = try run(["-L", "-w", "\\n%{http_code} %{num_redirects} %{url_effective}", gateway.url("/redirect/307?to=" + encoded(gateway.url("/final")))])
        #expect(same.status == 0, "\(same.stderr)")
        let sameLines = same.stdout.split(separator: "\n")
        #expect(sameLines.last == "200 1 \(gateway.url("/final"))", "\(same.stdout)")
        #expect(try Self.headers(String(sameLines[0])).contains { $0 == ("x-authenticated-user", "alice") })

        let other = try run(["-L", "-H", "Cookie: session=secret", "-d", "x=1", gateway.url("/redirect/302?to=" + encoded(elsewhere.url + "/landing"))])
        #expect(other.status == 0, "\(other.stderr)")
        let otherHeaders = try Self.headers(other.stdout)
        #expect(!otherHeaders.contains { ["authorization", "cookie", "x-chap"].contains($0.0) }, "\(other.stdout)")
        #expect(other.stdout.contains(#""method": "GET""#) && other.stdout.contains(#""path": "/landing""#), "\(other.stdout)")

        let loop = try run(["-L", gateway.url("/loop")])
        #expect(loop.status == 47 && loop.stderr.contains("10 redirects"), "\(loop.status) \(loop.stderr)")
        let file = try run(["-L", gateway.url("/redirect/302?to=" + encoded("file:///etc/passwd"))])
        #expect(file.status == 1 && file.stderr.contains("refused") && !file.stdout.contains("root:"), "\(file.stderr)")
        let badFormat = try run(["-w", "%{nope}", gateway.url("/whoami")])
        #expect(badFormat.status == 1 && badFormat.stderr.contains("unknown variable"))
    }

    @Test("-v shows both heads with credentials redacted; -m ends a slow request with exit 28; bad limits are refused")
    func verboseAndLimits() throws {
        let enrolled = try GatewayTests.Enrolled(keyType: "ed25519")
        let upstream = try EchoUpstream(enrolled.dir)
        defer { upstream.child.stop() }
        let gateway = try GatewayProcess(enrolled.dir, ["--upstream", upstream.url])
        defer { gateway.stop() }
        func run(_ arguments: [String]) throws -> ProcessResult {
            try ClientCommandTests.client(["curl"] + arguments, agent: enrolled.agent, cache: enrolled.dir)
        }
        let verbose = try run(["-v", "-H", "Cookie: session=secret", gateway.url("/items")])
        #expect(verbose.status == 0, "\(verbose.stderr)")
        #expect(verbose.stderr.contains("> GET /items HTTP/1.1") && verbose.stderr.contains("> Authorization: <redacted>"), "\(verbose.stderr)")
        #expect(verbose.stderr.contains("> Cookie: <redacted>") && verbose.stderr.contains("< HTTP/1.1 200 OK") && verbose.stderr.contains("< X-Upstream: echo"))
        let token = try ClientCommandTests.client(["token", gateway.url("/")], agent: enrolled.agent, cache: enrolled.dir).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(!token.isEmpty && !verbose.stderr.contains(token) && !verbose.stderr.contains("secret"))

        let started = Date()
        let slow = try run(["-m", "1", gateway.url("/slow")])
        #expect(slow.status == 28 && Date().timeIntervalSince(started) < 4, "\(slow.status) \(slow.stderr)")
        for bad in [["-m", "0"], ["--connect-timeout", "0"], ["--max-time", "1e9"]] {
            let refused = try run(bad + [gateway.url("/whoami")])
            #expect(refused.status == 1 && refused.stderr.split(separator: "\n").count == 1, "\(bad) \(refused.stderr)")
        }
    }
}
