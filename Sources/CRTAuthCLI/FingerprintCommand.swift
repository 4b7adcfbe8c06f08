import ArgumentParser
import Foundation
import SSHKeys

struct FingerprintCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fingerprint",
        abstract: "Print a key's SHA256, MD5 and crtauth fingerprints.",
        discussion: """
        Reads a .pub or -cert.pub file, an authorized_keys file (one block per key), a
        PUBLIC KEY PEM, or a private key file (only its public half is read). '-' reads stdin.
        SHA256: and MD5: are exactly what 'ssh-keygen -l [-E md5]' prints; crtauth: is the
        6-byte key fingerprint crtauth challenges carry.
        """
    )

    @Argument(help: "A key file, or '-' for stdin.")
    var keyFile: String

    @Flag(help: "Print a JSON array instead of text.")
    var json = false

    func run() async throws {
        try await reportingErrors {
            let identities = try publicIdentities(in: try readSmallFile(self.keyFile))
            if self.json {
                let objects: [[String: Any]] = identities.map { entry in
                    let key = entry.identity.publicKey
                    var object: [String: Any] = [
                        "type": entry.identity.typeName,
                        "bits": key.bitCount,
                        "sha256": key.sha256Fingerprint,
                        "md5": key.md5Fingerprint,
                        "crtauth": key.crtauthFingerprint.map { String(format: "%02x", $0) }.joined(),
                        "comment": entry.comment,
                    ]
                    if let kid = key.asymmetricJWTKeyID { object["asymmetric_jwt_kid"] = kid }
                    if let thumbprint = try? key.jwkThumbprint { object["jwk_thumbprint"] = thumbprint }
                    return object
                }
                print(try jsonText(objects))
                return
            }
            for (index, entry) in identities.enumerated() {
                let key = entry.identity.publicKey
                if index > 0 { print() }
                let comment = entry.comment.isEmpty ? "no comment" : entry.comment
                print("\(key.bitCount) \(key.sha256Fingerprint) \(comment) (\(displayName(entry.identity)))")
                print("\(key.bitCount) \(key.md5Fingerprint) \(comment) (\(displayName(entry.identity)))")
                print("crtauth:" + key.crtauthFingerprint.map { String(format: "%02x", $0) }.joined())
            }
        }
    }
}
