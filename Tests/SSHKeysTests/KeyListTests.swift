import Foundation
import SSHKeys
import Testing
import TestSupport

@Suite("authorized_keys, allowed_signers, patterns")
struct KeyListTests {
    static let ed = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINdamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3B1Ea"

    @Test("authorized_keys options, with quoted commas and escaped quotes")
    func authorizedKeys() throws {
        let text = """
        # comment line

        \(Self.ed) plain@host
        restrict,command="echo \\"a,b\\" c",from="10.0.0.0/8,!10.1.*",expiry-time="20300101",principals="alice,bob" \(Self.ed) opts
        cert-authority,principals="deploy" \(Self.ed)
        """
        let keys = try AuthorizedKeys.parse(text)
        #expect(keys.count == 3)
        #expect(keys[0].options.isEmpty && keys[0].comment == "plain@host")
        #expect(keys[1].isRestricted)
        #expect(keys[1].command == "echo \"a,b\" c")
        #expect(keys[1].fromPatterns == "10.0.0.0/8,!10.1.*")
        #expect(keys[1].principals == ["alice", "bob"])
        #expect(try keys[1].expiryTime() != nil)
        #expect(keys[1].comment == "opts")
        #expect(keys[2].isCertificateAuthority && keys[2].principals == ["deploy"])
        #expect(keys[0].key == keys[2].key)
    }

    @Test("malformed authorized_keys lines are typed errors with their line number", arguments: [
        "command=\"unterminated \(ed)",
        "from=unquoted \(ed)",
        "restrict,",
        "restrict \(ed.replacingOccurrences(of: "AAAAC3", with: "BAAAC3"))",
        ",,, \(ed)",
        String(repeating: "a", count: maximumKeyListLineLength + 1),
    ])
    func badAuthorizedKeys(_ line: String) {
        let error = #expect(throws: SSHKeyError.self) { try AuthorizedKeys.parse("\n" + line) }
        if line.count <= maximumKeyListLineLength { #expect(error?.message.hasPrefix("line 2:") == true) }
    }

    @Test("OpenSSH pattern lists", arguments: [
        ("alice@example.com", "*@example.com", SSHPattern.ListMatch.matched),
        ("alice@example.com", "*@example.com,!alice@*", .negated),
        ("bob", "b?b", .matched),
        ("bob", "b?", .noMatch),
        ("", "*", .matched),
        ("abc", "a*c*", .matched),
        ("aXbYc", "a*b*c", .matched),
        ("aXbY", "a*b*c", .noMatch),
    ])
    func patterns(_ string: String, _ list: String, _ expected: SSHPattern.ListMatch) {
        #expect(SSHPattern.match(string, list: list) == expected)
    }

    @Test("allowed_signers lines: principals, options, times")
    func allowedSigners() throws {
        let signers = try AllowedSigners(parsing: """
        *@example.com,!eve@example.com namespaces="git,file",valid-after="20200101",valid-before="20991231Z" \(Self.ed) c
        "quoted principal" \(Self.ed)
        ca@example.com cert-authority \(Self.ed)
        """)
        #expect(signers.entries.count == 3)
        #expect(signers.entries[0].namespaces == "git,file")
        #expect(try signers.entries[0].validAfter() != nil)
        #expect(try signers.entries[0].validBefore() == 4_102_358_400)
        #expect(signers.entries[1].principals == "quoted principal")
        #expect(signers.entries[2].isCertificateAuthority)
        #expect(throws: SSHKeyError(.invalidLine, "")) { try AllowedSigner(line: "a bogus-option \(Self.ed)") }
        #expect(throws: SSHKeyError(.invalidLine, "")) { try AllowedSigner(line: "a valid-after=\"2020\" \(Self.ed)") }
        #expect(throws: SSHKeyError(.invalidLine, "")) { try AllowedSigner(line: "onlyprincipal") }
        #expect(throws: SSHKeyError(.invalidLine, "")) { try parseSSHTimestamp("20201341") }
        #expect(try parseSSHTimestamp("19700101000001Z") == 1)
    }

    @Test("allowed_signers decisions: principal patterns, namespaces, validity window")
    func decisions() async throws {
        let key = try SSHPrivateKey(generating: .ed25519)
        let line = key.publicKey.openSSHLine()
        let signers = try AllowedSigners(parsing: """
        *@example.com,!eve@example.com namespaces="git" valid-after="20200101Z",valid-before="20300101Z" \(line)
        """.replacingOccurrences(of: "namespaces=\"git\" valid", with: "namespaces=\"git\",valid"))
        let signature = try await SSHSig.sign([1], namespace: "git", with: key)
        let t2025: UInt64 = 1_735_689_600
        try signers.verify(signature, message: [1], principal: "alice@example.com", namespace: "git", at: t2025)
        #expect(throws: SSHKeyError.self) { try signers.verify(signature, message: [1], principal: "eve@example.com", namespace: "git", at: t2025) }
        #expect(throws: SSHKeyError.self) { try signers.verify(signature, message: [1], principal: "alice@example.org", namespace: "git", at: t2025) }
        #expect(throws: SSHKeyError.self) { try signers.verify(signature, message: [1], principal: "alice@example.com", namespace: "git", at: 1_500_000_000) }
        #expect(throws: SSHKeyError.self) { try signers.verify(signature, message: [1], principal: "alice@example.com", namespace: "git", at: 2_000_000_000) }
        let other = try await SSHSig.sign([1], namespace: "file", with: key)
        #expect(throws: SSHKeyError.self) { try signers.verify(other, message: [1], principal: "alice@example.com", namespace: "file", at: t2025) }
    }
}
