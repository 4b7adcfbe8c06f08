import Foundation
import SSHKeys
import Testing
import TestSupport

/// The `crtauth` executable, run for real (detached from any terminal with setsid, so a
/// passphrase prompt can never wait on one).
func crtauth(_ arguments: [String], stdin: [UInt8]? = nil, environment: [String: String] = [:]) throws -> ProcessResult {
    var env = environment
    if env["SSH_AUTH_SOCK"] == nil { env["SSH_AUTH_SOCK"] = "" }
    return try runProcess("setsid", ["-w", try crtauthExecutable()] + arguments, stdin: stdin, environment: env)
}

@Suite("crtauth CLI: fingerprint, sign, verify, agent list")
struct CLITests {
    @Test("fingerprint prints what ssh-keygen -l prints, for every key type", arguments: sshKeygenTypes.map { "\($0.type)-\($0.bits ?? 0)" })
    func fingerprint(_ label: String) throws {
        let dir = try TemporaryDirectory()
        let parts = label.split(separator: "-")
        let bits = Int(parts[1]) ?? 0
        let path = try sshKeygen(dir, name: "k", type: String(parts[0]), bits: bits == 0 ? nil : bits)
        let ours = try crtauth(["fingerprint", path + ".pub"])
        #expect(ours.status == 0)
        let lines = ours.stdout.split(separator: "\n").map(String.init)
        #expect(lines[0] == (try mustRun("ssh-keygen", ["-l", "-f", path + ".pub"])).trimmingCharacters(in: .newlines))
        #expect(lines[1] == (try mustRun("ssh-keygen", ["-l", "-E", "md5", "-f", path + ".pub"])).trimmingCharacters(in: .newlines))
        let key = try SSHPublicKey(openSSHLine: dir.read("k.pub"))
        #expect(lines[2] == "crtauth:" + key.crtauthFingerprint.map { String(format: "%02x", $0) }.joined())
        // The private key file and stdin give the same.
        #expect(try crtauth(["fingerprint", path]).stdout == ours.stdout)
        #expect(try crtauth(["fingerprint", "-"], stdin: Array(dir.read("k.pub").utf8)).stdout == ours.stdout)
        let json = try crtauth(["fingerprint", "--json", path + ".pub"])
        let decoded = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]]
        #expect(decoded?.first?["sha256"] as? String == key.sha256Fingerprint)
    }

    @Test("bad key input is one clear line and exit 1, never a crash")
    func badInput() throws {
        let dir = try TemporaryDirectory()
        let cases = [
            "ssh-ed25519 AAAA!!!! x\n",
            "ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAINdamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3B1Ea label-lies\n",
            "garbage\n",
            "",
        ]
        for (index, text) in cases.enumerated() {
            let result = try crtauth(["fingerprint", try dir.write("bad\(index)", text)])
            #expect(result.status == 1, "\(text)")
            #expect(result.stderr.hasPrefix("crtauth: ") && result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
        }
        let missing = try crtauth(["fingerprint", dir.file("nope")])
        #expect(missing.status == 1 && missing.stderr.contains("cannot read"))
    }

    @Test("sign → ssh-keygen -Y verify and ssh-keygen -Y sign → verify, with exit codes")
    func signVerify() throws {
        let dir = try TemporaryDirectory()
        let key = try sshKeygen(dir, name: "k", type: "ecdsa", bits: 384)
        let message = try dir.write("msg", "ship it\n")
        let allowed = try dir.write("allowed", "release@example.com " + (try dir.read("k.pub")))

        let signed = try crtauth(["sign", "-n", "file", "-f", key, message])
        #expect(signed.status == 0, "\(signed.stderr)")
        let theirs = try runProcess("ssh-keygen", ["-Y", "verify", "-n", "file", "-s", message + ".sig", "-f", allowed, "-I", "release@example.com"], stdin: Array("ship it\n".utf8))
        #expect(theirs.status == 0, "\(theirs.stderr)")

        try mustRun("ssh-keygen", ["-Y", "sign", "-n", "file", "-f", key, message])
        let good = try crtauth(["verify", "-n", "file", "-s", message + ".sig", "-f", allowed, "-I", "release@example.com"], stdin: Array("ship it\n".utf8))
        #expect(good.status == 0)
        #expect(good.stdout.hasPrefix("Good \"file\" signature for release@example.com with ECDSA key SHA256:"))
        for (args, input) in [
            (["-n", "file", "-I", "someone@else"], "ship it\n"),
            (["-n", "git", "-I", "release@example.com"], "ship it\n"),
            (["-n", "file", "-I", "release@example.com"], "ship it!\n"),
        ] {
            let bad = try crtauth(["verify", "-s", message + ".sig", "-f", allowed] + args, stdin: Array(input.utf8))
            #expect(bad.status == 255)
            #expect(bad.stderr.split(separator: "\n").count == 1, "\(bad.stderr)")
        }
        let novalidate = try crtauth(["verify", "--check-novalidate", "-n", "file", "-s", message + ".sig"], stdin: Array("ship it\n".utf8))
        #expect(novalidate.status == 0)
        let principals = try crtauth(["verify", "--find-principals", "-s", message + ".sig", "-f", allowed])
        #expect(principals.stdout == "release@example.com\n")
        let garbage = try crtauth(["verify", "--check-novalidate", "-n", "file", "-s", try dir.write("junk.sig", "-----BEGIN SSH SIGNATURE-----\nAAAA\n-----END SSH SIGNATURE-----\n")], stdin: [])
        #expect(garbage.status == 255)
    }

    @Test("sign from stdin to stdout with sha256; an encrypted key reads CRTAUTH_PASSPHRASE without a terminal")
    func stdinAndPassphrase() throws {
        let dir = try TemporaryDirectory()
        let key = try sshKeygen(dir, name: "k", type: "rsa", bits: 2048, passphrase: "s3cret")
        let allowed = try dir.write("allowed", "me " + (try dir.read("k.pub")))
        let noPass = try crtauth(["sign", "-n", "file", "-f", key, "-"], stdin: [1, 2, 3])
        #expect(noPass.status == 1 && noPass.stderr.contains("CRTAUTH_PASSPHRASE"))
        let wrong = try crtauth(["sign", "-n", "file", "-f", key, "-"], stdin: [1, 2, 3], environment: ["CRTAUTH_PASSPHRASE": "nope"])
        #expect(wrong.status == 1 && wrong.stderr.contains("passphrase"))
        #expect(!wrong.stderr.contains("nope"))
        let signed = try crtauth(["sign", "-n", "file", "-O", "hashalg=sha256", "-f", key, "-"], stdin: [1, 2, 3], environment: ["CRTAUTH_PASSPHRASE": "s3cret"])
        #expect(signed.status == 0, "\(signed.stderr)")
        let signature = try SSHSig(armored: signed.stdout)
        #expect(signature.hashAlgorithm == .sha256)
        #expect(signature.signature.algorithm == .rsaSHA256)
        let sigPath = try dir.write("stdin.sig", signed.stdout)
        let theirs = try runProcess("ssh-keygen", ["-Y", "verify", "-n", "file", "-s", sigPath, "-f", allowed, "-I", "me"], stdin: [1, 2, 3])
        #expect(theirs.status == 0, "\(theirs.stderr)")
    }

    @Test("agent list and signing with a key or certificate held by a real ssh-agent")
    func agent() throws {
        let agent = try SSHAgentProcess()
        defer { agent.stop() }
        let dir = try TemporaryDirectory()
        let ca = try sshKeygen(dir, name: "ca", type: "ed25519")
        let user = try sshKeygen(dir, name: "user", type: "ed25519", passphrase: "pw")
        try mustRun("ssh-keygen", ["-q", "-s", ca, "-I", "alice", "-n", "alice", user + ".pub"])
        let rsa = try sshKeygen(dir, name: "rsa", type: "rsa", bits: 2048)
        try agent.add(rsa)
        try mustRun("ssh-add", ["-q", user], environment: agent.environment.merging(["SSH_ASKPASS": try dir.write("askpass", "#!/bin/sh\necho pw\n", mode: 0o700), "SSH_ASKPASS_REQUIRE": "force"]) { $1 })

        let list = try crtauth(["agent", "list"], environment: agent.environment)
        #expect(list.status == 0)
        #expect(list.stdout.contains(try SSHPublicKey(openSSHLine: dir.read("rsa.pub")).sha256Fingerprint))
        #expect(list.stdout.contains("ED25519-CERT"))
        let json = try crtauth(["agent", "list", "--json"], environment: agent.environment)
        #expect((try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [Any])?.count == 3)

        // No -f: the first agent key (RSA) signs.
        let message = try dir.write("m", "agent-signed\n")
        #expect(try crtauth(["sign", "-n", "file", message], environment: agent.environment).status == 0)
        let allowed = try dir.write("allowed", "ops " + (try dir.read("rsa.pub")) + "alice cert-authority " + (try dir.read("ca.pub")))
        let verified = try runProcess("ssh-keygen", ["-Y", "verify", "-n", "file", "-s", message + ".sig", "-f", allowed, "-I", "ops"], stdin: Array("agent-signed\n".utf8))
        #expect(verified.status == 0, "\(verified.stderr)")

        // -f with the certificate: the signature embeds it; ssh-keygen accepts it via the CA line.
        #expect(try crtauth(["sign", "-n", "file", "-f", user + "-cert.pub", message], environment: agent.environment).status == 0)
        let cert = try runProcess("ssh-keygen", ["-Y", "verify", "-n", "file", "-s", message + ".sig", "-f", allowed, "-I", "alice"], stdin: Array("agent-signed\n".utf8))
        #expect(cert.status == 0, "\(cert.stderr)")
        // -f with an encrypted private key the agent holds: no passphrase needed.
        #expect(try crtauth(["sign", "-n", "file", "-f", user, message], environment: agent.environment).status == 0)

        let none = try crtauth(["agent", "list"])
        #expect(none.status == 1 && none.stderr.contains("SSH_AUTH_SOCK"))
    }
}

@Suite("crtauth decode")
struct DecodeTests {
    static let v1Challenge = "AWPEFAABAgMEBQYHCAkKCwwNDg8QERITzmVT8P7OZVPxFMQG22Wi1PkQsnNlcnZlci5leGFtcGxlLmNvbaR0ZXN0xCCNvPnKgwK4XVvz-or7n57G0LS41uAOk47-BSI0Ubnujw"

    @Test("every message kind of the reference vectors, as JSON with ISO-8601 times", arguments: [
        (v1Challenge, "challenge", 1),
        ("dgAAAFwKOESZ0IkCBQTELjcc9p-scKiGAAAAFHQAAABlU_EDZVPxQQAAAAR0ZXN0", "token", 0),
        ("AXTOZVPxA85lU_FBpHRlc3TEII8WCok-4mtY_-UwEcxcxBlsBFuxryE8V9ZK1yhTr47n", "token", 1),
        ("AXGkdGVzdA", "request", 1),
        ("dgAAAMa3-Vn-ssXjQPJ-gZJTI4QgtJ4aAAAATGMAAAAAAQIDBAUGBwgJCgsMDQ4PEBESE2VT8P5lU_EUAAAABttlotT5EAAAAAAAEnNlcnZlci5leGFtcGxlLmNvbQAAAAAABHRlc3Q", "challenge", 0),
    ])
    func decode(_ message: String, _ kind: String, _ version: Int) throws {
        let result = try crtauth(["decode", message])
        #expect(result.status == 0, "\(result.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        #expect(json?["kind"] as? String == kind)
        #expect(json?["version"] as? Int == version)
        #expect(json?["username"] as? String == "test")
        if kind != "request" {
            #expect((json?["valid_from"] as? [String: Any])?["iso8601"] as? String == (kind == "token" ? "2023-11-14T22:13:23Z" : "2023-11-14T22:13:18Z"))
        }
    }

    @Test("header prefixes are accepted; bad input is one line and exit 1")
    func prefixesAndErrors() throws {
        #expect(try crtauth(["decode", "challenge:" + Self.v1Challenge]).status == 0)
        for bad in ["", "garbage!", "AAAA", String(Self.v1Challenge.dropLast(10))] {
            let result = try crtauth(["decode", bad])
            #expect(result.status == 1, "\(bad)")
            #expect(result.stderr.hasPrefix("crtauth: ") && result.stderr.split(separator: "\n").count == 1)
        }
    }
}
