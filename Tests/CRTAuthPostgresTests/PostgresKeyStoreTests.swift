import AuthCore
import CRTAuth
import CRTAuthPostgres
import Crypto
import Foundation
import Logging
import SSHKeys
import TestSupport
import Testing

/// The PostgreSQL store against a real PostgreSQL server started for each test.
@Suite("PostgreSQL key and nonce store", .serialized)
struct PostgresKeyStoreTests {
    static let logger = Logger(label: "test")

    static func entry(_ key: SSHPublicKey, _ options: String = "") throws -> AuthorizedKey {
        try AuthorizedKey(line: (options.isEmpty ? "" : options + " ") + key.openSSHLine(comment: "laptop"))
    }

    @Test("keys: add, look up, find by fingerprint, list, revoke; JWKS trust; two stores on one database migrate once")
    func semantics() async throws {
        let server = try PostgresServer()
        async let first = PostgresKeyStore.connect(server.url, logger: Self.logger)
        async let second = PostgresKeyStore.connect(server.url, logger: Self.logger)
        let (store, other) = try await (first, second)
        let alice = SSHPrivateKey(Curve25519.Signing.PrivateKey()).publicKey
        let aliceRSA = try SSHPrivateKey(generating: .rsa, rsaBits: 2048).publicKey
        let ca = SSHPrivateKey(Curve25519.Signing.PrivateKey()).publicKey
        let added = try await store.add([("alice", try Self.entry(alice)), ("alice", try Self.entry(aliceRSA)), ("bob", try Self.entry(ca, #"cert-authority,principals="bob,robert""#))], now: 1_000)
        #expect(added.count == 3)
        guard case .keys(let keys) = try await other.keys(for: "alice") else { Issue.record("alice has no keys"); return }
        #expect(keys.map(\.key) == [alice, aliceRSA])
        guard case .keys(let bobs) = try await other.keys(for: "bob") else { Issue.record("bob has no keys"); return }
        #expect(bobs.first?.isCertificateAuthority == true && bobs.first?.principals == ["bob", "robert"])
        #expect(try await other.keys(for: "nobody") == .noSuchUser)
        #expect(try await other.owner(ofFingerprint: alice.sha256Fingerprint, now: 1_000)?.username == "alice")
        #expect(try await other.owner(ofFingerprint: ca.sha256Fingerprint, now: 1_000) == nil)  // a CA is not a key of its own
        #expect(try await store.list(username: "alice").map(\.comment) == ["laptop", "laptop"])
        #expect(try await store.revoke(username: "alice", fingerprint: alice.sha256Fingerprint, now: 2_000))
        #expect(try await store.revoke(username: "alice", fingerprint: alice.sha256Fingerprint, now: 2_000) == false)
        #expect(try await other.owner(ofFingerprint: alice.sha256Fingerprint, now: 2_000) == nil)
        #expect(try await store.revoke(username: "alice", fingerprint: aliceRSA.sha256Fingerprint, now: 2_000))
        #expect(try await other.keys(for: "alice") == .refused(reason: "the user has no active keys"))
        try await store.trustJWKS(username: "carol", url: "https://carol.example.com/jwks.json", now: 3_000)
        #expect(try await other.jwksURL(for: "carol") == "https://carol.example.com/jwks.json")
        #expect(try await store.distrustJWKS(username: "carol"))
        #expect(try await other.jwksURL(for: "carol") == nil)
        await #expect(throws: PostgresStoreError.self) { try await store.trustJWKS(username: "carol", url: "file:///etc/passwd", now: 0) }
        // last_used_on: written once a minute at most.
        await store.recordUse(fingerprint: ca.sha256Fingerprint, by: "bob", at: 5_000)
        #expect(try await store.list(username: "bob").first?.lastUsedAt == 5_000)
        await store.recordUse(fingerprint: ca.sha256Fingerprint, by: "bob", at: 5_030)
        #expect(try await store.list(username: "bob").first?.lastUsedAt == 5_000)
        await store.shutdown()
        await other.shutdown()
    }

    @Test("nonces: of 24 copies racing over two stores exactly one is accepted; expired nonces are taken again")
    func nonces() async throws {
        let server = try PostgresServer()
        let first = try await PostgresKeyStore.connect(server.url, logger: Self.logger)
        let second = try await PostgresKeyStore.connect(server.url, logger: Self.logger)
        let accepted = try await withThrowingTaskGroup(of: Bool.self) { group in
            for index in 0..<24 {
                let store = index % 2 == 0 ? first : second
                group.addTask { try await store.insertIfAbsent("jwt:5:alice:100:n", expiresAt: 141, now: 100) }
            }
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(accepted == 1)
        #expect(try await first.insertIfAbsent("jwt:5:alice:100:n", expiresAt: 141, now: 140) == false)
        #expect(try await first.insertIfAbsent("jwt:5:alice:100:n", expiresAt: 200, now: 141) == true)
        // Any bytes, NUL included.
        #expect(try await first.insertIfAbsent("a\u{0}b", expiresAt: 200, now: 150) == true)
        #expect(try await first.insertIfAbsent("a\u{0}c", expiresAt: 200, now: 150) == true)
        await first.shutdown()
        await second.shutdown()
    }

    @Test("a wrong password or no server: a clear error within seconds, no password in it")
    func connectFailures() async throws {
        let server = try PostgresServer()
        let started = ContinuousClock.now
        do {
            _ = try await PostgresKeyStore.connect(server.url.replacingOccurrences(of: PostgresServer.password, with: "wrong-password"), logger: Self.logger)
            Issue.record("connected with a wrong password")
        } catch let error as PostgresStoreError {
            #expect(error.message.contains("password authentication failed"), "\(error.message)")
            #expect(!error.message.contains("wrong-password"))
        }
        server.stop()
        do {
            _ = try await PostgresKeyStore.connect(server.url, logger: Self.logger)
            Issue.record("connected to a stopped server")
        } catch let error as PostgresStoreError {
            #expect(error.message.contains("cannot connect"), "\(error.message)")
            #expect(!error.message.contains(PostgresServer.password))
        }
        #expect(ContinuousClock.now - started < .seconds(15))
        for bad in ["mysql://x@y/z", "postgres://127.0.0.1/db", "postgres://u@h/db?sslmode=maybe"] {
            await #expect(throws: PostgresStoreError.self) { try await PostgresKeyStore.connect(bad, logger: Self.logger) }
        }
    }

    @Test("the server stops: lookups fail fast as keyProvider errors (a 503 upstream), then recover by themselves")
    func failingClosed() async throws {
        let server = try PostgresServer()
        let store = try await PostgresKeyStore.connect(server.url, logger: Self.logger)
        let key = SSHPrivateKey(Curve25519.Signing.PrivateKey()).publicKey
        try await store.add([("alice", try Self.entry(key))], now: 1)
        #expect(try await store.keys(for: "alice") == .keys([UserKey(key: key)]))
        server.stop()
        var started = ContinuousClock.now
        await #expect(throws: AuthCoreError(.keyProvider, "")) { try await store.keys(for: "alice") }
        #expect(ContinuousClock.now - started < PostgresKeyStore.operationTimeout + .seconds(2))
        started = ContinuousClock.now
        await #expect(throws: AuthCoreError(.nonceStore, "")) { try await store.insertIfAbsent("n", expiresAt: 10, now: 1) }
        #expect(ContinuousClock.now - started < PostgresKeyStore.operationTimeout + .seconds(2))
        try server.start()
        let restarted = ContinuousClock.now
        var recovered = false
        while ContinuousClock.now - restarted < .seconds(5), !recovered {
            recovered = (try? await store.keys(for: "alice")) == .keys([UserKey(key: key)])
            if !recovered { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(recovered, "no recovery within 5 s of the restart")
        await store.shutdown()
    }

    /// The processes whose parent is `parent` (from /proc/PID/stat's fourth field).
    static func children(of parent: pid_t) -> [pid_t] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry -> pid_t? in
            guard let pid = pid_t(entry), let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return nil }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 1 && pid_t(fields[1]) == parent ? pid : nil
        }
    }

    @Test("the server hangs (SIGSTOP): a lookup is answered at its deadline, not when the query ends", .timeLimit(.minutes(1)))
    func hungServer() async throws {
        let server = try PostgresServer()
        defer { server.stop() }
        let store = try await PostgresKeyStore.connect(server.url, logger: Self.logger)
        let key = SSHPrivateKey(Curve25519.Signing.PrivateKey()).publicKey
        try await store.add([("alice", try Self.entry(key))], now: 1)
        // The server and its backends (one process per connection), stopped by their pids.
        let postmaster = try #require(pid_t(try server.directory.read("data/postmaster.pid").split(separator: "\n").first ?? ""))
        let processes = [postmaster] + Self.children(of: postmaster)
        for pid in processes { kill(pid, SIGSTOP) }
        let started = ContinuousClock.now
        await #expect(throws: AuthCoreError(.keyProvider, "")) { try await store.keys(for: "bob") }
        let waited = ContinuousClock.now - started
        for pid in processes { kill(pid, SIGCONT) }
        #expect(waited >= PostgresKeyStore.operationTimeout && waited < PostgresKeyStore.operationTimeout + .seconds(2), "answered after \(waited)")
        await store.shutdown()
    }
}
