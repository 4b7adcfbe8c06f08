import Foundation
import TestSupport
import Testing

/// Encrypted key files: SSH_ASKPASS as ssh(1) honours it, before CRTAUTH_PASSPHRASE.
@Suite("crtauth passphrases: SSH_ASKPASS, SSH_ASKPASS_REQUIRE, CRTAUTH_PASSPHRASE")
struct PassphraseTests {
    @Test("askpass runs with the prompt when forced, or without a terminal but with a display; 'never' and no display fall back to CRTAUTH_PASSPHRASE")
    func askpass() throws {
        let dir = try TemporaryDirectory()
        let key = try sshKeygen(dir, name: "k", type: "ed25519", passphrase: "from-askpass")
        let good = try dir.write("askpass", "#!/bin/sh\nprintf '%s\\n' \"$1\" > \"$(dirname \"$0\")/prompt\"\necho from-askpass\n", mode: 0o700)
        let cancelled = try dir.write("cancel", "#!/bin/sh\nexit 1\n", mode: 0o700)
        func sign(_ environment: [String: String]) throws -> ProcessResult {
            try crtauth(["sign", "-n", "file", "-f", key, "-"], stdin: [1, 2, 3], environment: environment)
        }
        // A wrong CRTAUTH_PASSPHRASE proves which source answered.
        let forced = try sign(["SSH_ASKPASS": good, "SSH_ASKPASS_REQUIRE": "force", "CRTAUTH_PASSPHRASE": "wrong"])
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(try dir.read("prompt").contains("Enter passphrase for \(key)"))
        let display = try sign(["SSH_ASKPASS": good, "DISPLAY": ":0", "CRTAUTH_PASSPHRASE": "wrong"])
        #expect(display.status == 0, "\(display.stderr)")
        let never = try sign(["SSH_ASKPASS": good, "DISPLAY": ":0", "SSH_ASKPASS_REQUIRE": "never", "CRTAUTH_PASSPHRASE": "from-askpass"])
        #expect(never.status == 0, "\(never.stderr)")
        let noDisplay = try sign(["SSH_ASKPASS": good, "DISPLAY": "", "CRTAUTH_PASSPHRASE": "wrong"])
        #expect(noDisplay.status == 1 && noDisplay.stderr.contains("passphrase"))
        let failed = try sign(["SSH_ASKPASS": cancelled, "SSH_ASKPASS_REQUIRE": "force", "CRTAUTH_PASSPHRASE": "from-askpass"])
        #expect(failed.status == 1 && failed.stderr.contains("SSH_ASKPASS") && failed.stderr.split(separator: "\n").count == 1, "\(failed.stderr)")
        let missing = try sign(["SSH_ASKPASS": dir.file("nope"), "SSH_ASKPASS_REQUIRE": "force"])
        #expect(missing.status == 1 && missing.stderr.contains("cannot run"), "\(missing.stderr)")
    }
}
