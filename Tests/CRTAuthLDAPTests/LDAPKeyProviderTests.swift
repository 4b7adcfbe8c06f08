import AuthCore
import CRTAuth
import CRTAuthLDAP
import Crypto
import Foundation
import SSHKeys
import Synchronization
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite("LDAP key source against a real slapd", .serialized)
struct LDAPKeyProviderTests {
    static let alice = SSHPrivateKey(Curve25519.Signing.PrivateKey()).publicKey
    static let alice2 = SSHPrivateKey(P256.Signing.PrivateKey()).publicKey
    static let carol = SSHPrivateKey(Curve25519.Signing.PrivateKey()).publicKey
    static let dave = SSHPrivateKey(Curve25519.Signing.PrivateKey()).publicKey

    static func user(_ name: String, _ id: Int, _ keys: [SSHPublicKey], parent: String = "cn=users,\(SlapdServer.base)") -> String {
        """
        dn: uid=\(name),\(parent)
        objectClass: inetOrgPerson
        objectClass: posixAccount
        objectClass: ldapPublicKey
        cn: \(name)
        sn: \(name)
        uid: \(name)
        uidNumber: \(id)
        gidNumber: \(id)
        homeDirectory: /home/\(name)

        """.replacingOccurrences(of: "homeDirectory: /home/\(name)\n", with: "homeDirectory: /home/\(name)\n" + keys.map { "sshPublicKey: \($0.openSSHLine(comment: name))\n" }.joined())
    }

    static let ldif = """
        dn: \(SlapdServer.base)
        objectClass: dcObject
        objectClass: organization
        o: Example
        dc: example

        dn: cn=users,\(SlapdServer.base)
        objectClass: organizationalRole
        cn: users

        dn: cn=groups,\(SlapdServer.base)
        objectClass: organizationalRole
        cn: groups

        dn: cn=elsewhere,\(SlapdServer.base)
        objectClass: organizationalRole
        cn: elsewhere

        \(user("alice", 1001, [alice, alice2]))
        \(user("bob", 1002, []))
        \(user("carol", 1003, [carol]))
        \(user("dave", 1004, [dave], parent: "cn=elsewhere,\(SlapdServer.base)"))
        dn: cn=ops,cn=groups,\(SlapdServer.base)
        objectClass: posixGroup
        cn: ops
        gidNumber: 2000
        memberUid: alice

        dn: cn=admins,cn=groups,\(SlapdServer.base)
        objectClass: groupOfNames
        cn: admins
        member: uid=carol,cn=users,\(SlapdServer.base)

        """

    static func provider(_ server: SlapdServer, _ tweak: (inout LDAPKeyProvider.Configuration) -> Void = { _ in }) throws -> LDAPKeyProvider {
        var configuration = LDAPKeyProvider.Configuration(url: server.url, baseDN: SlapdServer.base, cacheTTL: 0)
        tweak(&configuration)
        return try LDAPKeyProvider(configuration: configuration)
    }

    @Test("keys by uid; no key, no user; filter injection and control characters find nobody; groups; crtauth's layout; binding")
    func lookups() async throws {
        let server = try SlapdServer(ldif: Self.ldif)
        let plain = try Self.provider(server)
        #expect(try await plain.keys(for: "alice") == .keys([UserKey(key: Self.alice), UserKey(key: Self.alice2)]))
        #expect(try await plain.keys(for: "bob") == .refused(reason: "no usable sshPublicKey in the directory"))
        #expect(try await plain.keys(for: "nobody") == .noSuchUser)
        for attack in ["*", "a*", ")(uid=*", "alice)(uid=*", "alice)(|(uid=*", "*)(objectClass=*", "alice\u{0}", "\\2a", "al\u{1}ice"] {
            #expect(try await plain.keys(for: attack) == .noSuchUser, "\(attack)")
        }
        #expect(escapeLDAPFilterValue("a*(b)\\\u{0}") == #"a\2a\28b\29\5c\00"#)

        let posix = try Self.provider(server) { $0.group = .posixGroup(dn: "cn=ops,cn=groups,\(SlapdServer.base)") }
        #expect(try await posix.keys(for: "alice") == .keys([UserKey(key: Self.alice), UserKey(key: Self.alice2)]))
        #expect(try await posix.keys(for: "carol") == .refused(reason: "not a member of the required group"))
        let names = try Self.provider(server) { $0.group = .groupOfNames(dn: "cn=admins,cn=groups,\(SlapdServer.base)") }
        #expect(try await names.keys(for: "carol") == .keys([UserKey(key: Self.carol)]))
        #expect(try await names.keys(for: "alice") == .refused(reason: "not a member of the required group"))

        var preset = LDAPKeyProvider.Configuration.crtauth(url: server.url, baseDN: SlapdServer.base, group: "ops")
        preset.cacheTTL = 0
        let crtauth = try LDAPKeyProvider(configuration: preset)
        #expect(try await crtauth.keys(for: "alice") == .keys([UserKey(key: Self.alice), UserKey(key: Self.alice2)]))
        #expect(try await crtauth.keys(for: "dave") == .noSuchUser)  // not under cn=users
        #expect(try await crtauth.keys(for: "carol") == .refused(reason: "not a member of the required group"))

        let bound = try Self.provider(server) { $0.bindDN = SlapdServer.admin; $0.bindPassword = SlapdServer.password }
        #expect(try await bound.keys(for: "carol") == .keys([UserKey(key: Self.carol)]))
        let wrong = try Self.provider(server) { $0.bindDN = SlapdServer.admin; $0.bindPassword = "wrong" }
        await #expect(throws: AuthCoreError(.keyProvider, "")) { try await wrong.keys(for: "carol") }
        #expect(throws: AuthCoreError.self) { try LDAPKeyProvider(configuration: .init(url: "http://x", baseDN: "dc=x")) }
        #expect(throws: AuthCoreError.self) { try LDAPKeyProvider(configuration: .init(url: "ldap://x", baseDN: "dc=x", filter: "(uid=alice)")) }
    }

    @Test("slapd stopped: a keyProvider error within the timeout, answers from the cache meanwhile; back after a restart")
    func failingClosed() async throws {
        let server = try SlapdServer(ldif: Self.ldif)
        let clock = Mutex<UInt64>(1_000)
        let cached = try LDAPKeyProvider(configuration: .init(url: server.url, baseDN: SlapdServer.base, timeout: 2, cacheTTL: 30), clock: { clock.withLock { $0 } })
        let uncached = try Self.provider(server) { $0.timeout = 2 }
        #expect(try await cached.keys(for: "alice") != .noSuchUser)
        server.stop()
        let started = ContinuousClock.now
        await #expect(throws: AuthCoreError(.keyProvider, "")) { try await uncached.keys(for: "alice") }
        #expect(ContinuousClock.now - started < .seconds(5))
        #expect(try await cached.keys(for: "alice") == .keys([UserKey(key: Self.alice), UserKey(key: Self.alice2)]))
        clock.withLock { $0 += 31 }
        await #expect(throws: AuthCoreError(.keyProvider, "")) { try await cached.keys(for: "alice") }
        try server.start()
        #expect(try await uncached.keys(for: "alice") == .keys([UserKey(key: Self.alice), UserKey(key: Self.alice2)]))
    }
}
