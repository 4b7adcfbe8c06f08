import AuthCore
import SSHKeys
import Testing

@Suite("InMemoryKeyStore: administered like the other stores")
struct InMemoryKeyStoreTests {
    @Test("add (all or none), list, revoke; lookups see the change at once")
    func administration() async throws {
        let store = InMemoryKeyStore()
        let ed = try SSHPrivateKey(generating: .ed25519).publicKey
        let ca = try SSHPrivateKey(generating: .ed25519).publicKey
        let entries = try [("alice", AuthorizedKey(line: ed.openSSHLine(comment: "laptop"))),
                           ("alice", AuthorizedKey(line: #"cert-authority,principals="ops" "# + ca.openSSHLine(comment: "ca")))]
        #expect(try store.add(entries, now: 100).count == 2)
        #expect(try await store.keys(for: "alice") == .keys([UserKey(key: ed), UserKey(key: ca, isCertificateAuthority: true, principals: ["ops"])]))
        #expect(try await store.owner(ofFingerprint: ed.sha256Fingerprint, now: 100)?.username == "alice")
        #expect(store.list(username: "alice").map(\.comment) == ["laptop", "ca"])
        #expect(throws: AuthCoreError(.invalidInput, "")) { try store.add([("al ice", entries[0].1), ("bob", entries[0].1)], now: 100) }
        #expect(store.list(username: "bob").isEmpty)
        #expect(store.revoke(username: "alice", fingerprint: ed.sha256Fingerprint, now: 200))
        #expect(!store.revoke(username: "alice", fingerprint: ed.sha256Fingerprint, now: 200))
        #expect(try await store.owner(ofFingerprint: ed.sha256Fingerprint, now: 200) == nil)
        #expect(try await store.keys(for: "nobody") == .noSuchUser)
    }
}
