import ArgumentParser
import CRTAuth
import Foundation
import SSHKeys

struct DecodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode",
        abstract: "Print a crtauth request, challenge, response or token as JSON, unverified.",
        discussion: """
        Accepts the base64url value of an X-CHAP header (with or without its prefix: \
        request:, challenge:, response: or token:) or of 'Authorization: chap:'. Nothing is \
        verified: MACs and signatures are not checked. A - reads the message from stdin.
        """
    )

    @Argument(help: "The message, or '-' for stdin.")
    var message: String

    func run() async throws {
        try await reportingErrors {
            var text = self.message == "-" ? try readSmallFile("-") : self.message
            text = text.trimmingCharacters(in: .whitespacesAndNewlines)
            for prefix in ["request:", "challenge:", "response:", "token:", "chap:"] where text.hasPrefix(prefix) {
                text = String(text.dropFirst(prefix.count))
            }
            let decoded: CRTAuthMessage
            do {
                decoded = try CRTAuthMessage.decodeUnverified(text)
            } catch let error as CRTAuthError {
                throw CLIFailure(message: error.message)
            }
            print(try jsonText(Self.describe(decoded)))
        }
    }

    static func time(_ seconds: UInt64) -> [String: Any] {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        return ["unix": seconds, "iso8601": seconds > UInt64(Int64.max) ? "" : formatter.string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))]
    }

    static func hex(_ bytes: some Sequence<UInt8>) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    static func describe(_ message: CRTAuthMessage) -> [String: Any] {
        switch message {
        case .request(let request):
            return ["kind": "request", "version": Int(request.version.rawValue), "username": request.username]
        case .challenge(let challenge):
            var out: [String: Any] = [
                "kind": "challenge", "version": Int(challenge.version.rawValue), "username": challenge.username,
                "server_name": challenge.serverName, "valid_from": time(challenge.validFrom), "valid_to": time(challenge.validTo),
                "unique_data": hex(challenge.uniqueData), "verified": false,
            ]
            if challenge.version == .v2 {
                out["key_fingerprints"] = stride(from: 0, to: challenge.fingerprint.count, by: 32).map {
                    "SHA256:" + Data(challenge.fingerprint[$0..<($0 + 32)]).base64EncodedString().replacingOccurrences(of: "=", with: "")
                }
            } else {
                out["fingerprint"] = hex(challenge.fingerprint)
            }
            return out
        case .response(let response):
            var out: [String: Any] = ["kind": "response", "version": Int(response.version.rawValue), "signature_length": response.signature.count, "verified": false]
            if let challenge = try? CRTAuthChallenge(bytes: response.challengeBytes) {
                out["challenge"] = describe(.challenge(challenge))
            }
            if response.version == .v2, let signature = try? SSHSig(wireBlob: response.signature) {
                out["signer"] = ["type": signature.signer.typeName, "sha256": signature.signer.publicKey.sha256Fingerprint, "namespace": signature.namespace]
            }
            return out
        case .token(let token):
            return [
                "kind": "token", "version": Int(token.version.rawValue), "format": token.version == .v0 ? "v0 (Python servers)" : "v1 (Java servers)",
                "username": token.username, "valid_from": time(token.validFrom), "valid_to": time(token.validTo), "verified": false,
            ]
        }
    }
}
