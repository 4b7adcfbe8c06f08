import AuthCore
import CRTAuth
import CRTAuthSQLite
import Foundation
import SSHKeys
import TestSupport
import Testing

@Suite("SQLite key store")
struct SQLiteKeyStoreTests {
    static func entry(_ key: SSHPublicKey, _ options: String = "", comment: String = "test") throws -> AuthorizedKey {
        try AuthorizedKey(line: (options.isEmpty ? "" : options + " ") + key.openSSHLine(comment: comment))
    }

    @Test("users, keys and lookups: no such user, refused (all revoked), keys in order with their options")
    func lookups() async throws {
        let dir = try TemporaryDirectory()
        let store = try SQLiteKeyStore(path: dir.file("keys.sqlite"))
        let ed = try SSHPrivateKey(generating: .ed25519).publicKey
        let ca = try SSHPrivateKey(generating: .ecdsaP256).publicKey
        try store.add([("alice", try Self.entry(ed)), ("alice", try Self.entry(ca, "cert-authority,principals=\"alice,ops\",expiry-time=\"20991231\""))], now: 1000)
        #expect(try await store.keys(for: "bob") == .noSuchUser)
        guard case .keys(let keys) = try await store.keys(for: "alice") else { Issue.record("no keys"); return }
        #expect(keys.map(\.key) == [ed, ca])
        #expect(keys[1].isCertificateAuthority && keys[1].principals == ["alice", "ops"] && keys[1].expiresAt != nil)
        // Re-adding a key updates it instead of duplicating it.
        try store.add([("alice", try Self.entry(ed, comment: "renamed"))], now: 2000)
        #expect(try store.list(username: "alice").map(\.comment) == ["renamed", "test"])
        // Revocation: gone from lookups; a user with no active key is refused, not unknown.
        #expect(try store.revoke(username: "alice", fingerprint: ed.sha256Fingerprint, now: 3000))
        #expect(try !store.revoke(username: "alice", fingerprint: ed.sha256Fingerprint, now: 3000))
        #expect(try store.revoke(username: "alice", fingerprint: ca.sha256Fingerprint, now: 3000))
        if case .refused = try await store.keys(for: "alice") {} else { Issue.record("a user without active keys must be refused") }
        // Re-adding a revoked key brings it back.
        try store.add([("alice", try Self.entry(ed))], now: 4000)
        #expect(try await store.keys(for: "alice") == .keys([UserKey(key: ed)]))
    }

    @Test("lookups on the calling thread answer as the async ones; a database that is not one is a key-store error")
    func lookupsWithoutWaiting() async throws {
        let dir = try TemporaryDirectory()
        let store = try SQLiteKeyStore(path: dir.file("keys.sqlite"))
        let ed = try SSHPrivateKey(generating: .ed25519).publicKey
        let rsa = try SSHPrivateKey(generating: .rsa, rsaBits: 2048).publicKey
        try store.add([("alice", try Self.entry(ed)), ("alice", try Self.entry(rsa)), ("bob", try Self.entry(ed))], now: 1000)
        #expect(try store.revoke(username: "bob", fingerprint: ed.sha256Fingerprint, now: 2000))
        for name in ["alice", "bob", "carol", "", "alice\u{0}", "ALICE", "al%", String(repeating: "x", count: 5000)] {
            #expect(try store.keysWithoutWaiting(for: name) == (try await store.keys(for: name)), "\(name.prefix(8))")
        }
        #expect(try store.keysWithoutWaiting(for: "alice") == .keys([UserKey(key: ed), UserKey(key: rsa)]))
        #expect(try store.keysWithoutWaiting(for: "alice\u{0}") == .noSuchUser)

        // The database replaced by a directory under a store that has not looked up yet.
        let path = dir.file("replaced.sqlite")
        let replaced = try SQLiteKeyStore(path: path)
        for file in [path, path + "-wal", path + "-shm"] { try? FileManager.default.removeItem(atPath: file) }
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        for _ in 0..<2 {
            #expect(throws: AuthCoreError.self) { try replaced.keysWithoutWaiting(for: "alice") }
        }
    }

    @Test("an invalid entry or username aborts the whole batch: nothing is half-written")
    func atomicity() throws {
        let dir = try TemporaryDirectory()
        let store = try SQLiteKeyStore(path: dir.file("keys.sqlite"))
        let key = try SSHPrivateKey(generating: .ed25519).publicKey
        #expect(throws: SQLiteKeyStoreError.self) { try store.add([("alice", try Self.entry(key)), ("bad user", try Self.entry(key))], now: 1) }
        #expect(throws: SQLiteKeyStoreError.self) { try store.add([("alice", try Self.entry(key)), ("alice", try Self.entry(key, "expiry-time=\"notadate\""))], now: 1) }
        #expect(throws: SQLiteKeyStoreError.self) { try store.add([("", try Self.entry(key))], now: 1) }
        #expect(try store.list().isEmpty)
        // The per-user key limit, checked inside the transaction.
        let many = try (0..<(SQLiteKeyStore.maximumKeysPerUser + 1)).map { _ in ("carol", try Self.entry(try SSHPrivateKey(generating: .ed25519).publicKey)) }
        #expect(throws: SQLiteKeyStoreError.self) { try store.add(many, now: 1) }
        #expect(try store.list(username: "carol").isEmpty)
    }

    @Test("last_used_on is written at most once a minute per key, after a handshake")
    func lastUsed() async throws {
        let dir = try TemporaryDirectory()
        let store = try SQLiteKeyStore(path: dir.file("keys.sqlite"))
        let signer = try SSHPrivateKey(generating: .ed25519)
        try store.add([("alice", try Self.entry(signer.publicKey))], now: 100)
        #expect(try store.list().first?.lastUsedAt == nil)
        await store.recordUse(signer.publicKey, by: "alice", at: 1_000)
        #expect(try store.list().first?.lastUsedAt == 1_000)
        await store.recordUse(signer.publicKey, by: "alice", at: 1_030)
        #expect(try store.list().first?.lastUsedAt == 1_000)
        await store.recordUse(signer.publicKey, by: "alice", at: 1_061)
        #expect(try store.list().first?.lastUsedAt == 1_061)
        // Through a real handshake: the AuthServer tells the store which key authenticated.
        let server = try AuthServer(configuration: .init(serverName: "api.example.com", secrets: [.init(size: .bits256)]), keyProvider: store)
        guard case .success(let challenge) = try await server.createChallenge(for: CRTAuthRequest(username: "alice", version: .v2), now: 2_000) else { Issue.record("no challenge"); return }
        let response = try await CRTAuthClientResponder.respond(to: challenge.encoded, serverName: "api.example.com", signers: [signer])
        guard case .success = try await server.createToken(response: response.encoded, now: 2_001) else { Issue.record("no token"); return }
        // Written in the background: wait for it (bounded).
        for _ in 0..<200 where try store.list().first?.lastUsedAt != 2_001 { try await Task.sleep(for: .milliseconds(10)) }
        #expect(try store.list().first?.lastUsedAt == 2_001)
    }

    @Test("lookups kept between handshakes give way the moment another connection commits: a key added or revoked elsewhere counts at once")
    func keptLookups() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("keys.sqlite")
        let gateway = try SQLiteKeyStore(path: path)
        let elsewhere = try SQLiteKeyStore(path: path)
        let first = try SSHPrivateKey(generating: .ed25519).publicKey
        try elsewhere.add([("alice", try Self.entry(first))], now: 1)
        for round in 0..<20 {
            let key = try SSHPrivateKey(generating: .ed25519).publicKey
            // Asked twice: the second answer is the kept one.
            for _ in 0..<2 { #expect(try gateway.keysWithoutWaiting(for: "alice") == .keys([UserKey(key: first)]), "round \(round)") }
            let bob = "bob\(round)"
            #expect(try gateway.keysWithoutWaiting(for: bob) == .noSuchUser)
            try elsewhere.add([("alice", try Self.entry(key)), (bob, try Self.entry(key))], now: 2)
            for _ in 0..<2 {
                #expect(try gateway.keysWithoutWaiting(for: "alice") == .keys([UserKey(key: first), UserKey(key: key)]), "round \(round)")
                #expect(try gateway.keysWithoutWaiting(for: bob) == .keys([UserKey(key: key)]), "round \(round)")
            }
            #expect(try elsewhere.revoke(username: "alice", fingerprint: key.sha256Fingerprint, now: 3))
            #expect(try elsewhere.revoke(username: bob, fingerprint: key.sha256Fingerprint, now: 3))
            if case .refused = try gateway.keysWithoutWaiting(for: bob) {} else { Issue.record("round \(round): bob's revoked key still counts") }
        }
    }

    @Test("concurrent readers and a writer in two connections: every lookup sees a consistent state")
    func concurrency() async throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("keys.sqlite")
        let reader = try SQLiteKeyStore(path: path)
        let writer = try SQLiteKeyStore(path: path)
        let keys = try (0..<40).map { _ in try SSHPrivateKey(generating: .ed25519).publicKey }
        try writer.add([("alice", try Self.entry(keys[0]))], now: 1)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for key in keys.dropFirst() { try writer.add([("alice", try Self.entry(key))], now: 2) }
            }
            for _ in 0..<4 {
                group.addTask {
                    var seen = 1
                    for _ in 0..<200 {
                        guard case .keys(let found) = try await reader.keys(for: "alice") else { Issue.record("alice vanished"); return }
                        // Keys only ever appear, in insertion order.
                        #expect(found.count >= seen && found.map(\.key) == Array(keys.prefix(found.count)))
                        seen = found.count
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(try reader.list(username: "alice").count == keys.count)
    }
}
