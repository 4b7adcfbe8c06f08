import CRTAuth
import CRTAuthJWT
import CRTAuthSignatures
import Crypto
import Foundation
import SSHKeys
import Synchronization
import TestSupport
import Testing

/// Two `crtauth serve` instances sharing a secret and one PostgreSQL database (real servers on
/// loopback, stopped by their pids).
@Suite("several gateways on one PostgreSQL store", .serialized)
struct SharedStoreTests {
    struct Cluster {
        let database: PostgresServer
        let dir: TemporaryDirectory
        let first: GatewayProcess
        let second: GatewayProcess
        let key = SSHPrivateKey(Curve25519.Signing.PrivateKey())

        init(schemes: String = "chap,jwt,signature") throws {
            self.database = try PostgresServer()
            self.dir = try TemporaryDirectory()
            let store = ["--store", self.database.url, "--secret-file", self.dir.file("secret"), "--schemes", schemes]
            self.first = try GatewayProcess(self.dir, store, name: "first")
            self.second = try GatewayProcess(self.dir, store, name: "second")
            _ = try mustRun(try crtauthExecutable(), ["keys", "add", "alice", self.key.publicKey.openSSHLine(comment: "alice"), "--store", self.database.url])
        }

        func stop() {
            self.first.stop()
            self.second.stop()
            self.database.stop()
        }
    }

    static func handshake(challengeAt first: GatewayProcess, responseAt second: GatewayProcess, key: SSHPrivateKey) async throws -> HTTPExchange {
        let challenge = try curl(first.url("/_auth"), headers: ["X-CHAP: request:" + CRTAuthRequest(username: "alice", version: .v2).encoded])
        let value = try #require(challenge.header("X-CHAP"))
        let response = try await CRTAuthClientResponder.respond(to: String(value.dropFirst("challenge:".count)), serverName: "127.0.0.1", signers: [key])
        return try curl(second.url("/_auth"), headers: ["X-CHAP: response:" + response.encoded])
    }

    @Test("a handshake begun at one gateway finishes at the other; a JWT or RFC 9421 nonce used at one is refused at the other; a key removed at one is refused at both at once")
    func sharing() async throws {
        let cluster = try Cluster()
        defer { cluster.stop() }
        let token = try await Self.handshake(challengeAt: cluster.first, responseAt: cluster.second, key: cluster.key)
        #expect(token.status == 200)
        let chap = "Authorization: chap:" + String(try #require(token.header("X-CHAP")).dropFirst("token:".count))
        #expect(try curl(cluster.first.url("/whoami"), headers: [chap]).status == 200)

        let jwt = try await AsymmetricJWT.authorization(username: "alice", signer: cluster.key, time: UInt64(Date().timeIntervalSince1970))
        #expect(try curl(cluster.first.url("/whoami"), headers: ["Authorization: " + jwt]).status == 200)
        #expect(try curl(cluster.second.url("/whoami"), headers: ["Authorization: " + jwt]).status == 401)
        #expect(cluster.second.logText.contains("reason=replayed"))

        // An RFC 9421 signature for the first gateway's URL, replayed at the second under the
        // same Host: a valid signature, refused as a replay.
        let message = try #require(HTTPMessageSignatures.Message(method: "GET", url: URL(string: cluster.first.url("/whoami"))!, fields: []))
        let signed = try await HTTPMessageSignatures.sign(message, body: [UInt8](), signer: cluster.key, created: UInt64(Date().timeIntervalSince1970))
        let headers = signed.map { "\($0.name): \($0.value)" }
        #expect(try curl(cluster.first.url("/whoami"), headers: headers).status == 200)
        #expect(try curl(cluster.second.url("/whoami"), headers: headers + ["Host: 127.0.0.1:\(cluster.first.port)"]).status == 401)
        #expect(cluster.second.auditLines.filter { $0.contains("reason=replayed") }.count == 2)

        // Revoked through the CLI: refused at both gateways from the next request on (no cache).
        _ = try mustRun(try crtauthExecutable(), ["keys", "remove", "alice", cluster.key.publicKey.sha256Fingerprint, "--store", cluster.database.url])
        for gateway in [cluster.first, cluster.second] {
            let fresh = try await AsymmetricJWT.authorization(username: "alice", signer: cluster.key, time: UInt64(Date().timeIntervalSince1970))
            #expect(try curl(gateway.url("/whoami"), headers: ["Authorization: " + fresh]).status == 401)
            // alice has no active key left: refused at the challenge already.
            #expect(try curl(gateway.url("/_auth"), headers: ["X-CHAP: request:" + CRTAuthRequest(username: "alice", version: .v2).encoded]).status == 403)
        }
    }

    @Test("PostgreSQL stopped: handshakes and JWTs get 503 with Retry-After, tokens keep working, /healthz says so; back within 5 s of a restart")
    func failingClosed() async throws {
        let cluster = try Cluster()
        defer { cluster.stop() }
        let token = try await Self.handshake(challengeAt: cluster.first, responseAt: cluster.first, key: cluster.key)
        let chap = "Authorization: chap:" + String(try #require(token.header("X-CHAP")).dropFirst("token:".count))
        cluster.database.stop()
        let request = "X-CHAP: request:" + CRTAuthRequest(username: "alice", version: .v2).encoded
        let challenge = try curl(cluster.first.url("/_auth"), headers: [request])
        #expect(challenge.status == 503 && challenge.header("Retry-After") != nil)
        let jwt = try await AsymmetricJWT.authorization(username: "alice", signer: cluster.key, time: UInt64(Date().timeIntervalSince1970))
        #expect(try curl(cluster.second.url("/whoami"), headers: ["Authorization: " + jwt]).status == 503)
        #expect(try curl(cluster.first.url("/whoami"), headers: [chap]).status == 200)
        #expect(try curl(cluster.first.url("/healthz")).status == 503)
        try cluster.database.start()
        let restarted = Date()
        var recovered = false
        while Date().timeIntervalSince(restarted) < 5, !recovered {
            recovered = try curl(cluster.first.url("/_auth"), headers: [request]).status == 200
            if !recovered { usleep(100_000) }
        }
        #expect(recovered, "no recovery within 5 s")
        #expect(try curl(cluster.first.url("/healthz")).status == 200)
        #expect(!cluster.first.logText.contains(PostgresServer.password) && !cluster.second.logText.contains(PostgresServer.password))
    }

    @Test("PostgreSQL stopped and restarted under load: every answer is 200 or 503 (never another 5xx), the gateways live on, service resumes")
    func stoppedUnderLoad() async throws {
        let cluster = try Cluster()
        defer { cluster.stop() }
        let request = "X-CHAP: request:" + CRTAuthRequest(username: "alice", version: .v2).encoded
        final class Tally: Sendable {
            let statuses = Mutex<[Int: Int]>([:])
            let running = Mutex(true)
        }
        let tally = Tally()
        let urls = [cluster.first.url("/_auth"), cluster.second.url("/_auth")]
        // Four clients asking for challenges (a key lookup each) at both gateways, nonstop, on
        // threads of their own: curl blocks, and the cooperative pool must stay free.
        let clients = DispatchGroup()
        for client in 0..<4 {
            DispatchQueue.global().async(group: clients) {
                while tally.running.withLock({ $0 }) {
                    let status = (try? curl(urls[client % 2], headers: [request]).status) ?? -1
                    tally.statuses.withLock { $0[status, default: 0] += 1 }
                }
            }
        }
        try await Task.sleep(for: .seconds(1))
        cluster.database.stop()
        // Down for longer than the store's 3 s deadline: a request may wait that long for a
        // connection, and would get one if the database came back sooner.
        try await Task.sleep(for: .seconds(5))
        try cluster.database.start()
        try await Task.sleep(for: .seconds(5))
        tally.running.withLock { $0 = false }
        await withCheckedContinuation { continuation in clients.notify(queue: .global()) { continuation.resume() } }
        let seen = tally.statuses.withLock { $0 }
        #expect(Set(seen.keys).isSubset(of: [200, 503]), "\(seen)")
        #expect(seen[503, default: 0] > 0 && seen[200, default: 0] > 0, "\(seen)")
        for gateway in [cluster.first, cluster.second] {
            #expect(kill(gateway.child.pid, 0) == 0, "a gateway died")
            #expect(try curl(gateway.url("/_auth"), headers: [request]).status == 200)
        }
    }
}
