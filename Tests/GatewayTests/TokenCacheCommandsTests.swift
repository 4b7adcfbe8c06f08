import Foundation
import TestSupport
import Testing

/// `crtauth status` and `crtauth logout` on a real cache, next to files they must not touch.
@Suite("crtauth status / logout", .serialized)
struct TokenCacheCommandsTests {
    @Test("status lists tokens and which agent key each server accepted; logout removes only our token files, never a symlink or a foreign file")
    func statusAndLogout() throws {
        let enrolled = try GatewayTests.Enrolled(keyType: "ed25519")
        let first = try GatewayProcess(enrolled.dir, name: "first")
        defer { first.stop() }
        let second = try GatewayProcess(enrolled.dir, name: "second")
        defer { second.stop() }
        func run(_ arguments: [String]) throws -> ProcessResult {
            try ClientCommandTests.client(arguments, agent: enrolled.agent, cache: enrolled.dir)
        }
        for gateway in [first, second] { #expect(try run(["login", gateway.url("/")]).status == 0) }

        let status = try run(["status", "--json"])
        #expect(status.status == 0, "\(status.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])
        let tokens = object["tokens"] as? [[String: Any]] ?? []
        #expect(Set(tokens.compactMap { $0["server"] as? String }) == ["http://127.0.0.1:\(first.port)", "http://127.0.0.1:\(second.port)"])
        #expect(tokens.allSatisfy { $0["user"] as? String == "alice" && $0["fresh"] as? Bool == true && $0["key"] as? String == enrolled.fingerprint })
        let keys = object["agent_keys"] as? [[String: Any]] ?? []
        #expect(keys.count == 1 && (keys.first?["accepted_by"] as? [String])?.count == 2)
        let text = try run(["status", first.url("/")])
        #expect(text.stdout.contains("http://127.0.0.1:\(first.port)") && !text.stdout.contains("http://127.0.0.1:\(second.port)"), "\(text.stdout)")

        // Beside the tokens: a symlink named like a token file (to a token file elsewhere), a
        // file named like one that is not a token, and a file of someone else's naming.
        let cache = enrolled.dir.file("cache/crtauth")
        let ours = try FileManager.default.contentsOfDirectory(atPath: cache).filter { $0.hasSuffix(".json") }
        #expect(ours.count == 2)
        let outside = try enrolled.dir.write("outside.json", try String(contentsOfFile: cache + "/" + ours[0], encoding: .utf8))
        let linkName = String(repeating: "a", count: 64) + ".json"
        try FileManager.default.createSymbolicLink(atPath: cache + "/" + linkName, withDestinationPath: outside)
        let junk = String(repeating: "b", count: 64) + ".json"
        _ = try enrolled.dir.write("cache/crtauth/" + junk, "not a token")
        _ = try enrolled.dir.write("cache/crtauth/notes.txt", "mine")

        let one = try run(["logout", "--json", first.url("/")])
        #expect(one.stdout.contains(#""removed":1"#), "\(one.stdout)")
        let all = try run(["logout"])
        #expect(all.status == 0 && all.stdout.contains("removed 1 cached token"), "\(all.stdout)")
        let left = Set(try FileManager.default.contentsOfDirectory(atPath: cache))
        #expect(left == [linkName, junk, "notes.txt"])
        #expect(FileManager.default.fileExists(atPath: outside))
        #expect(try run(["status"]).stdout.contains("no cached tokens"))
    }
}
