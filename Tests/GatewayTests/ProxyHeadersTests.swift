import Foundation
import TestSupport
import Testing

/// What the gateway tells the upstream about the client, and what it passes back: forwarding
/// headers replaced unless the peer is a trusted proxy, `Via`, bodies on any method, cookies
/// and redirects untouched, 504 for an upstream that does not answer in time.
@Suite("crtauth serve proxy headers and timeouts")
struct ProxyHeadersTests {
    /// The request the echo upstream saw: its headers (lower-cased names) and body.
    static func seen(_ exchange: HTTPExchange) throws -> (headers: [String: [String]], body: String, method: String) {
        let echo = try #require(try JSONSerialization.jsonObject(with: Data(exchange.body.utf8)) as? [String: Any])
        var headers: [String: [String]] = [:]
        for pair in echo["headers"] as? [[String]] ?? [] { headers[pair[0].lowercased(), default: []].append(pair[1]) }
        return (headers, echo["body"] as? String ?? "", echo["method"] as? String ?? "")
    }

    static let spoofed = ["X-Forwarded-For: 6.6.6.6", "X-Forwarded-Proto: https", "X-Forwarded-Host: evil.example", "Forwarded: for=6.6.6.6;proto=https"]

    @Test("a client's X-Forwarded-* and Forwarded are replaced; a trusted proxy's are extended; Via is added")
    func forwarding() throws {
        let dir = try TemporaryDirectory()
        let upstream = try EchoUpstream(dir)
        defer { upstream.child.stop() }
        let gateway = try GatewayProcess(dir, ["--upstream", upstream.url, "--public-path", "/"])
        defer { gateway.stop() }
        let replaced = try Self.seen(try curl(gateway.url("/api"), headers: Self.spoofed))
        let host = "127.0.0.1:\(gateway.port)"
        #expect(replaced.headers["x-forwarded-for"] == ["127.0.0.1"])
        #expect(replaced.headers["x-forwarded-proto"] == ["http"])
        #expect(replaced.headers["x-forwarded-host"] == [host])
        #expect(replaced.headers["forwarded"] == ["for=127.0.0.1;host=\"\(host)\";proto=http"])
        #expect(replaced.headers["via"] == ["1.1 crtauth"])

        let behindProxy = try GatewayProcess(dir, ["--upstream", upstream.url, "--public-path", "/", "--trusted-proxy", "127.0.0.0/8", "--trusted-proxy", "::1"], name: "trusting")
        defer { behindProxy.stop() }
        let extended = try Self.seen(try curl(behindProxy.url("/api"), headers: Self.spoofed + ["Via: 1.1 edge"]))
        #expect(extended.headers["x-forwarded-for"] == ["6.6.6.6, 127.0.0.1"])
        #expect(extended.headers["x-forwarded-proto"] == ["https"])
        #expect(extended.headers["x-forwarded-host"] == ["evil.example"])
        #expect(extended.headers["forwarded"] == ["for=6.6.6.6;proto=https, for=127.0.0.1;host=\"127.0.0.1:\(behindProxy.port)\";proto=http"])
        #expect(extended.headers["via"]?.joined(separator: ", ") == "1.1 edge, 1.1 crtauth")
    }

    @Test("bodies on GET and DELETE go upstream; Set-Cookie and redirects come back unchanged; a slow upstream is a 504, a closed one a 502 at once")
    func bodiesCookiesTimeouts() throws {
        let dir = try TemporaryDirectory()
        let upstream = try EchoUpstream(dir)
        defer { upstream.child.stop() }
        let gateway = try GatewayProcess(dir, ["--upstream", upstream.url, "--public-path", "/", "--upstream-timeout", "1"])
        defer { gateway.stop() }
        for method in ["GET", "DELETE"] {
            let seen = try Self.seen(try curl(gateway.url("/items"), method: method, headers: ["Content-Type: application/json"], body: #"{"q":1}"#))
            #expect(seen.method == method && seen.body == #"{"q":1}"#, "\(method)")
        }
        let cookies = try curl(gateway.url("/cookies"))
        #expect(cookies.headers.filter { $0.0.lowercased() == "set-cookie" }.map(\.1) == ["a=1; Path=/; HttpOnly", "b=2; Path=/"])
        let redirect = try curl(gateway.url("/redirect/307?to=https://elsewhere.example/x"))
        #expect(redirect.status == 307 && redirect.header("Location") == "https://elsewhere.example/x")
        let started = Date()
        let slow = try curl(gateway.url("/slow"))
        #expect(slow.status == 504 && Date().timeIntervalSince(started) < 4, "\(slow.status) after \(Date().timeIntervalSince(started)) s")
        upstream.child.stop()
        let refused = Date()
        #expect(try curl(gateway.url("/items")).status == 502)
        #expect(Date().timeIntervalSince(refused) < 1, "a refused upstream is a 502 at once, not after the connect timeout")
    }
}
