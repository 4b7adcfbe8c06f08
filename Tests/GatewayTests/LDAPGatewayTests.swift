import CRTAuth
import Crypto
import Foundation
import SSHKeys
import TestSupport
import Testing

/// `crtauth serve --store ldap://…` against a real slapd on loopback.
@Suite("crtauth serve with an LDAP key source", .serialized)
struct LDAPGatewayTests {
    /// alice's LDIF entry: a POSIX account holding `key` (openssh-lpk's `sshPublicKey`).
    static func alice(dn: String, key: SSHPrivateKey) -> String {
        """
        dn: \(dn)
        objectClass: inetOrgPerson
        objectClass: posixAccount
        objectClass: ldapPublicKey
        cn: alice
        sn: alice
        uid: alice
        uidNumber: 1001
        gidNumber: 1001
        homeDirectory: /home/alice
        sshPublicKey: \(key.publicKey.openSSHLine(comment: "alice"))
        """
    }

    @Test("keys from the directory (crtauth's layout and group), bind password from a file; slapd stopped: 503, /healthz 503; back after a restart")
    func gateway() async throws {
        let key = SSHPrivateKey(Curve25519.Signing.PrivateKey())
        let base = SlapdServer.base
        let slapd = try SlapdServer(ldif: """
            dn: \(base)
            objectClass: dcObject
            objectClass: organization
            o: Example
            dc: example

            dn: cn=users,\(base)
            objectClass: organizationalRole
            cn: users

            dn: cn=groups,\(base)
            objectClass: organizationalRole
            cn: groups

            \(Self.alice(dn: "uid=alice,cn=users,\(base)", key: key))

            dn: cn=ops,cn=groups,\(base)
            objectClass: posixGroup
            cn: ops
            gidNumber: 2000
            memberUid: alice

            """)
        defer { slapd.stop() }
        let dir = try TemporaryDirectory()
        let passwordFile = try dir.write("ldap-password", SlapdServer.password + "\n")
        let store = "\(slapd.url)/\(base)?preset=crtauth&group-name=ops&bind=\(SlapdServer.admin)&password-file=\(passwordFile)&ttl=0"
        let gateway = try GatewayProcess(dir, ["--store", store])
        defer { gateway.stop() }
        let request = "X-CHAP: request:" + CRTAuthRequest(username: "alice", version: .v2).encoded
        let challenge = try curl(gateway.url("/_auth"), headers: [request])
        #expect(challenge.status == 200)
        let value = try #require(challenge.header("X-CHAP"))
        let response = try await CRTAuthClientResponder.respond(to: String(value.dropFirst("challenge:".count)), serverName: "127.0.0.1", signers: [key])
        #expect(try curl(gateway.url("/_auth"), headers: ["X-CHAP: response:" + response.encoded]).status == 200)
        #expect(try curl(gateway.url("/healthz")).status == 200)
        // An injection attempt is an unknown user: a fake challenge, as for any unknown name.
        #expect(try curl(gateway.url("/_auth"), headers: ["X-CHAP: request:" + CRTAuthRequest(username: "*)(uid=*", version: .v2).encoded]).status == 200)

        slapd.stop()
        let down = try curl(gateway.url("/_auth"), headers: [request])
        #expect(down.status == 503 && down.header("Retry-After") != nil)
        #expect(try curl(gateway.url("/healthz")).status == 503)
        try slapd.start()
        #expect(try curl(gateway.url("/_auth"), headers: [request]).status == 200)
        #expect(!gateway.logText.contains(SlapdServer.password))
    }

    @Test("TLS to the directory: ldaps:// and StartTLS with a trusted CA work; an untrusted certificate is a 503, never a fallback to plain text")
    func tls() async throws {
        let key = SSHPrivateKey(Curve25519.Signing.PrivateKey())
        let dir = try TemporaryDirectory()
        let certificate = dir.file("cert.pem"), privateKey = dir.file("key.pem")
        try mustRun("/usr/bin/openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", privateKey,
                                         "-out", certificate, "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"])
        let base = SlapdServer.base
        let slapd = try SlapdServer(ldif: """
            dn: \(base)
            objectClass: dcObject
            objectClass: organization
            o: Example
            dc: example

            \(Self.alice(dn: "uid=alice,\(base)", key: key))

            """, tls: (certificate, privateKey))
        defer { slapd.stop() }
        let request = "X-CHAP: request:" + CRTAuthRequest(username: "alice", version: .v2).encoded
        let trusted = ["LDAPTLS_CACERT": certificate]
        for (name, store, environment, expected) in [
            ("ldaps", "\(slapd.tlsURL)/\(base)?ttl=0", trusted, 200),
            ("starttls", "\(slapd.url)/\(base)?starttls=1&ttl=0", trusted, 200),
            ("ldaps-untrusted", "\(slapd.tlsURL)/\(base)?ttl=0", ["LDAPTLS_CACERT": "/nonexistent"], 503),
            ("starttls-untrusted", "\(slapd.url)/\(base)?starttls=1&ttl=0", ["LDAPTLS_CACERT": "/nonexistent"], 503),
        ] {
            let gateway = try GatewayProcess(dir, ["--store", store], environment: environment, name: name)
            defer { gateway.stop() }
            #expect(try curl(gateway.url("/_auth"), headers: [request]).status == expected, "\(name)")
        }
    }

    @Test("without OpenLDAP's library: the binary does not link it, --store ldap:// is one line naming the package, other stores work")
    func withoutLibLDAP() throws {
        let executable = try crtauthExecutable()
        #expect(!(try mustRun("ldd", [executable])).contains("libldap"))
        // Hide every installed libldap in a mount namespace of the test's own (needs root, as CI is).
        let libraries = try mustRun("/sbin/ldconfig", ["-p"]).split(separator: "\n").compactMap { line -> String? in
            guard line.contains("libldap"), let arrow = line.range(of: "=> ") else { return nil }
            return String(line[arrow.upperBound...])
        }
        #expect(!libraries.isEmpty)
        let dir = try TemporaryDirectory()
        func hidden(_ arguments: [String]) throws -> ProcessResult {
            let script = #"for f in $HIDE; do mount --bind /dev/null "$(readlink -f "$f")" || exit 99; done; exec "$@""#
            return try runProcess("unshare", ["--mount", "sh", "-c", script, "sh", executable] + arguments,
                                  environment: ["HIDE": libraries.joined(separator: " "), "SSH_AUTH_SOCK": ""])
        }
        let ldap = try hidden(["serve", "--data-dir", dir.path, "--listen", "127.0.0.1:0", "--store", "ldap://127.0.0.1:1/dc=example,dc=com"])
        #expect(ldap.status == 1, "\(ldap.stderr)")
        #expect(ldap.stderr.split(separator: "\n").count == 1, "\(ldap.stderr)")
        #expect(ldap.stderr.contains("libldap-2.5-0") && ldap.stderr.contains("libldap2") && ldap.stderr.contains("openldap"), "\(ldap.stderr)")
        let key = SSHPrivateKey(Curve25519.Signing.PrivateKey()).publicKey.openSSHLine(comment: "alice")
        let store = "sqlite:" + dir.file("keys.sqlite")
        #expect(try hidden(["keys", "add", "alice", key, "--store", store]).status == 0)
        #expect(try hidden(["keys", "list", "--store", store]).stdout.contains("alice"))
    }
}
