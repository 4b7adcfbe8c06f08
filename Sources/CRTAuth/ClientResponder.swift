import Crypto
import SSHKeys

/// The client side of the handshake, pure: build the request, check and answer the challenge.
public enum CRTAuthClientResponder {
    /// The `X-CHAP: request:` value for `username`.
    public static func request(username: String, version: CRTAuthVersion = .v1) -> String {
        CRTAuthRequest(username: username, version: version).encoded
    }

    /// A response and the identity that signed it.
    public struct Answer: Sendable {
        public let response: CRTAuthResponse
        public let signer: SSHPublicIdentity
        /// The challenge answered (for its user, server name and version).
        public let challenge: CRTAuthChallenge
    }

    /// Answers `challengeText` with the matching key among `signers`.
    ///
    /// - Parameter serverName: the host the client connected to; a challenge naming another
    ///   server is refused (it may be relayed by a man in the middle).
    public static func respond(to challengeText: String, serverName: String, signers: [any Signer]) async throws -> CRTAuthResponse {
        try await self.answer(challengeText, serverName: serverName, signers: signers).response
    }

    /// ``respond(to:serverName:signers:)``, also saying which key signed.
    public static func answer(_ challengeText: String, serverName: String, signers: [any Signer]) async throws -> Answer {
        let challenge = try CRTAuthChallenge(decoding: challengeText)
        guard challenge.serverName.lowercased() == serverName.lowercased() else {
            throw CRTAuthError(.serverNameMismatch, "the challenge is for server \(quoted(challenge.serverName)), but you connected to \(quoted(serverName)); refusing to sign (possible man-in-the-middle)")
        }
        if challenge.version == .v2 { return try await self.respondV2(challenge, signers: signers) }

        let wanted = challenge.fingerprint
        guard let signer = signers.first(where: { $0.publicKey.type == .rsa && $0.publicKey.crtauthFingerprint == wanted }) else {
            let hex = wanted.map { String($0, radix: 16).leftPadded(to: 2) }.joined()
            throw CRTAuthError(.noMatchingKey, "the server expects the RSA key with crtauth fingerprint \(hex) for user \(quoted(challenge.username)); no such key is in your ssh-agent or key file — add it with ssh-add, or it may not be registered on the server for this user")
        }
        let signature = try await signer.sign(Array(challenge.signedBytes), algorithm: .insecureRSASHA1)
        // Full modulus length: Java servers refuse shorter signatures.
        let width = (signer.publicKey.bitCount + 7) / 8
        let raw = [UInt8](repeating: 0, count: max(0, width - signature.rawSignature.count)) + signature.rawSignature
        return Answer(response: CRTAuthResponse(version: challenge.version, challengeBytes: challenge.bytes, signature: raw), signer: signer.identity, challenge: challenge)
    }

    private static func respondV2(_ challenge: CRTAuthChallenge, signers: [any Signer]) async throws -> Answer {
        let offered = CRTAuthV2.offeredFingerprints(challenge)
        func isOffered(_ key: SSHPublicKey) -> Bool { offered.contains { $0.elementsEqual(key.sha256Digest) } }
        let signer = signers.first { signer in
            if case .certificate(let cert) = signer.identity, isOffered(cert.signatureKey), cert.principals.contains(challenge.username) { return true }
            return isOffered(signer.publicKey)
        }
        guard let signer else {
            let names = offered.map { "SHA256:" + unpaddedBase64($0) }.joined(separator: ", ")
            throw CRTAuthError(.noMatchingKey, "the server expects one of the keys \(names) for user \(quoted(challenge.username)) (or a certificate from such a CA); none is in your ssh-agent or key file — add it with ssh-add, or it may not be registered on the server for this user")
        }
        let signature = try await SSHSig.sign(challenge.bytes, namespace: CRTAuthV2.namespace(serverName: challenge.serverName), hashAlgorithm: CRTAuthV2.hashAlgorithm, with: signer)
        return Answer(response: CRTAuthResponse(version: .v2, challengeBytes: challenge.bytes, signature: signature.wireBlob), signer: signer.identity, challenge: challenge)
    }

    static func quoted(_ text: String) -> String { SSHKeyError.quoted(text) }
}

