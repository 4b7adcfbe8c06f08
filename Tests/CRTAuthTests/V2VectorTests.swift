import AuthCore
import Crypto
import Foundation
@testable import CRTAuth
import SSHKeys
import Testing
import TestSupport

/// The v2 vectors of docs/PROTOCOL.md: fixed inputs, deterministic Ed25519 (RFC 8037 key).
@Suite("crtauth v2 vectors")
struct V2VectorTests {
    static var vector: [String: String] {
        let url = Bundle.module.url(forResource: "Vectors", withExtension: nil)!.appendingPathComponent("v2.json")
        return ((try? JSONSerialization.jsonObject(with: Data(contentsOf: url))) as? [String: String]) ?? [:]
    }

    @Test("request, challenge, response and token reproduce byte for byte")
    func reproduce() async throws {
        let key = try SSHPrivateKey(fileContents: Vectors.text("rfc8037_ed25519"))
        let other = try SSHPublicKey(openSSHLine: Vectors.text("test_key.pub"))
        let server = try AuthServer(
            configuration: .init(serverName: "server.example.com", secrets: [Vectors.secret], tokenFormat: .v1),
            keyProvider: InMemoryKeyProvider(keys: ["alice": [key.publicKey, other]]),
            random: { Array(0..<UInt8($0)) }
        )
        let request = CRTAuthRequest(username: "alice", version: .v2)
        guard case .success(let challenge) = try await server.createChallenge(for: request, now: 1_700_000_000) else { Issue.record("no challenge"); return }
        let response = try await CRTAuthClientResponder.respond(to: challenge.encoded, serverName: "server.example.com", signers: [key])
        guard case .success(let issued) = try await server.createToken(response: response.encoded, now: 1_700_000_005) else { Issue.record("refused"); return }
        let produced = ["request": request.encoded, "challenge": challenge.encoded, "response": response.encoded, "token": issued.token.encoded, "key_fingerprint": issued.identity.keyFingerprint]
        if ProcessInfo.processInfo.environment["CRTAUTH_RECORD_V2"] != nil {
            print(String(decoding: try JSONSerialization.data(withJSONObject: produced, options: [.sortedKeys, .prettyPrinted]), as: UTF8.self))
        }
        #expect(produced == Self.vector)

        // OpenSSH agrees that the response signature is a valid SSHSIG over the challenge in
        // the crtauth-v2 namespace of this server.
        let dir = try TemporaryDirectory()
        let sig = try dir.write("response.sig", try SSHSig(wireBlob: response.signature).armored)
        let checked = try runProcess("ssh-keygen", ["-Y", "check-novalidate", "-n", "crtauth-v2@server.example.com", "-s", sig], stdin: challenge.bytes)
        #expect(checked.status == 0, "\(checked.stderr)")
        let otherNamespace = try runProcess("ssh-keygen", ["-Y", "check-novalidate", "-n", "git", "-s", sig], stdin: challenge.bytes)
        #expect(otherNamespace.status != 0)
    }
}
