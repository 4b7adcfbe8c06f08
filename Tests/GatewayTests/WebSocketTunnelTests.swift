import Foundation
import TestSupport
import Testing

/// WebSocket pass-through: the handshake is authenticated like any request, then the client and
/// the upstream (the websockets library at both ends) talk through the gateway byte for byte.
@Suite("crtauth serve WebSocket pass-through")
struct WebSocketTunnelTests {
    /// Runs ws_client.py; its one JSON line.
    static func client(_ url: String, _ arguments: [String] = []) throws -> [String: Any] {
        let output = try mustRun(try SigningInteropTests.python(), [try Python2.peer("ws_client.py"), url] + arguments)
        return try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any], "\(output)")
    }

    /// The upstream's first message: the handshake request it saw, headers lower-cased.
    static func seenHeaders(_ result: [String: Any]) -> [String: [String]] {
        var headers: [String: [String]] = [:]
        for pair in (result["first"] as? [String: Any])?["headers"] as? [[String]] ?? [] { headers[pair[0].lowercased(), default: []].append(pair[1]) }
        return headers
    }

    @Test("a handshake with a token is tunnelled: subprotocol, identity headers, text and a 1 MiB binary message echoed; refusals keep their status")
    func tunnelled() throws {
        let enrolled = try GatewayTests.Enrolled()
        let dir = enrolled.dir
        let upstream = try EchoUpstream(dir)
        defer { upstream.child.stop() }
        let accessLog = dir.file("access.log")
        let gateway = try GatewayProcess(dir, ["--upstream", upstream.url, "--access-log", accessLog])
        defer { gateway.stop() }
        let token = try ClientCommandTests.client(["token", gateway.url("/")], agent: enrolled.agent, cache: dir).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let ws = "ws://127.0.0.1:\(gateway.port)"

        let opened = try Self.client(ws + "/chat?room=1", ["--header", "Authorization:chap:\(token)", "--header", "X-Authenticated-User:mallory",
                                                           "--subprotocol", "echo.v1", "--message", "hello", "--message", "ünïcode", "--binary", "1048576"])
        #expect(opened["status"] as? Int == 101 && opened["echoed"] as? Bool == true, "\(opened)")
        #expect(opened["subprotocol"] as? String == "echo.v1")
        #expect((opened["first"] as? [String: Any])?["path"] as? String == "/chat?room=1")
        let seen = Self.seenHeaders(opened)
        #expect(seen["x-authenticated-user"] == ["alice"] && seen["x-authenticated-scheme"] == ["chap"], "\(seen)")
        #expect(seen["authorization"] == nil && seen["via"] == ["1.1 crtauth"] && seen["x-forwarded-for"] == ["127.0.0.1"], "\(seen)")

        // No credential: the gateway's 401 with its challenge; a bad token as a plain request gets it.
        let anonymous = try Self.client(ws + "/chat")
        #expect(anonymous["status"] as? Int == 401, "\(anonymous)")
        #expect((anonymous["headers"] as? [[String]])?.contains { $0[0].lowercased() == "www-authenticate" } == true, "\(anonymous)")
        let forged = try Self.client(ws + "/chat", ["--header", "Authorization:chap:AAAA"])["status"] as? Int
        let plain = try curl(gateway.url("/chat"), headers: ["Authorization: chap:AAAA"]).status
        #expect(forged == 401 && forged == plain)
        // The upstream's own refusal comes back as it was.
        let refused = try Self.client(ws + "/ws-refused", ["--header", "Authorization:chap:\(token)"])
        #expect(refused["status"] as? Int == 403 && (refused["body"] as? String)?.contains("no WebSocket here") == true, "\(refused)")
        // Plain requests on the same gateway still pass.
        #expect(try curl(gateway.url("/after"), headers: ["Authorization: chap:\(token)"]).status == 200)

        // One access-log line per handshake, the tunnelled one as a 101 for alice.
        _ = waitForLine(in: accessLog, matching: "/after", timeout: 10)
        let access = try String(contentsOfFile: accessLog, encoding: .utf8)
        #expect(access.split(separator: "\n").contains { $0.contains("path=/chat") && $0.contains("status=101") && $0.contains("user=alice") }, "\(access)")
        #expect(!access.contains(token) && !gateway.logText.contains(token))

        // An upstream that is gone: 502, and the gateway serves on.
        upstream.child.stop()
        #expect(try Self.client(ws + "/chat", ["--header", "Authorization:chap:\(token)"])["status"] as? Int == 502)
    }
}
