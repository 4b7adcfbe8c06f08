import AuthCore
import Crypto
import Foundation
import SSHKeys

/// serveradmin's SSH-signed requests (innogames adminapi, `X-Timestamp`, `X-PublicKeys`,
/// `X-Signatures`), both sides, wire-compatible with adminapi and its server:
///
/// - the signed bytes are `"<timestamp>"` or, with a body, `"<timestamp>:<body>"` (the raw
///   body bytes), signed as plain SSH signatures (no SSHSIG framing, as adminapi does);
/// - the timestamp must be within ``timestampGrace`` seconds of the server's clock;
/// - each key/signature pair is checked; **any invalid signature by a known key refuses the
///   request**, as serveradmin does; keys of more than one user refuse it too;
/// - unlike serveradmin, a ``NonceStore`` refuses a replay of the same signatures (serveradmin
///   accepts it for the whole window, and since neither method nor URL is signed, against any
///   endpoint).
public enum ServeradminSignatures {
    /// serveradmin's `TIMESTAMP_GRACE_PERIOD`.
    public static let timestampGrace: UInt64 = 16
    /// More key/signature pairs than this are refused (serveradmin's limit).
    public static let maximumPairs = 20
    /// Longest header value read.
    public static let maximumHeaderLength = 64 * 1024

    /// The bytes adminapi signs.
    public static func signedMessage(timestamp: UInt64, body: some Collection<UInt8>) -> [UInt8] {
        var message = Array(String(timestamp).utf8)
        if !body.isEmpty {
            message.append(UInt8(ascii: ":"))
            message.append(contentsOf: body)
        }
        return message
    }

    /// The three headers for a request, signed by each of `signers` (RSA with `rsa-sha2-512`).
    public static func headers(timestamp: UInt64, body: some Collection<UInt8>, signers: [any Signer]) async throws -> [(name: String, value: String)] {
        let message = self.signedMessage(timestamp: timestamp, body: body)
        var keys: [String] = [], signatures: [String] = []
        for signer in signers {
            let algorithm: SSHSignatureAlgorithm? = signer.publicKey.type == .rsa ? .rsaSHA512 : nil
            let signature = try await signer.sign(message, algorithm: algorithm)
            keys.append(Data(signer.publicKey.wireBlob).base64EncodedString())
            signatures.append(Data(signature.wireBlob).base64EncodedString())
        }
        return [("X-Timestamp", String(timestamp)), ("X-PublicKeys", keys.joined(separator: ",")), ("X-Signatures", signatures.joined(separator: ","))]
    }

    /// Who owns a key: a username, or nil for a key nobody registered.
    public typealias KeyOwner = @Sendable (SSHPublicKey) async throws -> String?

    /// Checks a request's headers and body.
    ///
    /// - Parameters:
    ///   - policy: `.standard` refuses SHA-1 `ssh-rsa` signatures, which adminapi makes with RSA
    ///     keys held in ssh-agent; `.insecureLegacySHA1` accepts them.
    ///   - nonces: refuses a second use of the same signatures within the window.
    /// - Throws: ``SignatureSchemeError`` for malformed headers (a 400).
    public static func verify(
        timestamp: String?, publicKeys: String?, signatures: String?, body: some Collection<UInt8>,
        now: UInt64, owner: KeyOwner, nonces: (any NonceStore)?, policy: SSHVerificationPolicy = .standard
    ) async throws -> AuthenticationOutcome<AuthenticatedIdentity> {
        guard let timestamp, let publicKeys, let signatures else {
            throw SignatureSchemeError(.malformed, "X-Timestamp, X-PublicKeys and X-Signatures are all required")
        }
        guard publicKeys.utf8.count <= maximumHeaderLength, signatures.utf8.count <= maximumHeaderLength else {
            throw SignatureSchemeError(.tooLarge, "X-PublicKeys or X-Signatures is longer than \(maximumHeaderLength) bytes")
        }
        guard !timestamp.isEmpty, timestamp.utf8.count <= 20, timestamp.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let then = UInt64(timestamp) else {
            throw SignatureSchemeError(.malformed, "X-Timestamp must be decimal Unix seconds")
        }
        let keyValues = publicKeys.split(separator: ",", omittingEmptySubsequences: false)
        let signatureValues = signatures.split(separator: ",", omittingEmptySubsequences: false)
        guard keyValues.count == signatureValues.count else {
            throw SignatureSchemeError(.malformed, "X-PublicKeys names \(keyValues.count) keys but X-Signatures carries \(signatureValues.count) signatures")
        }
        guard keyValues.count <= maximumPairs else {
            throw SignatureSchemeError(.tooLarge, "more than \(maximumPairs) keys in X-PublicKeys")
        }
        var pairs: [(SSHPublicKey, SSHSignature)] = []
        for (keyText, signatureText) in zip(keyValues, signatureValues) {
            guard let keyBlob = Data(base64Encoded: String(keyText).trimmingCharacters(in: .whitespaces)),
                  let signatureBlob = Data(base64Encoded: String(signatureText).trimmingCharacters(in: .whitespaces)) else {
                throw SignatureSchemeError(.malformed, "X-PublicKeys and X-Signatures hold base64 values separated by commas")
            }
            do {
                pairs.append((try SSHPublicKey(wireBlob: keyBlob), try SSHSignature(wireBlob: signatureBlob)))
            } catch let error as SSHKeyError {
                throw SignatureSchemeError(.malformed, "a key or signature does not parse: \(error.message)")
            }
        }
        if then + timestampGrace < now { return .failure(AuthenticationFailure(reason: .expired, username: nil)) }
        if then > now + timestampGrace { return .failure(AuthenticationFailure(reason: .notYetValid, username: nil)) }

        let message = self.signedMessage(timestamp: then, body: body)
        var users: Set<String> = []
        var first: SSHPublicKey?
        for (key, signature) in pairs {
            let user: String?
            do { user = try await owner(key) } catch {
                throw AuthCoreError(.keyProvider, "the key store failed: \(error)")
            }
            guard let user else { continue }
            // Any invalid signature by a known key refuses the request (serveradmin's rule).
            guard key.isValidSignature(signature, for: message, policy: policy) else {
                return .failure(AuthenticationFailure(reason: .badSignature, username: user))
            }
            users.insert(user)
            first = first ?? key
        }
        guard let key = first, let user = users.first else {
            return .failure(AuthenticationFailure(reason: .unknownUser, username: nil))
        }
        guard users.count == 1 else {
            return .failure(AuthenticationFailure(reason: .refused, username: nil))
        }
        if let nonces {
            // The signatures are the credential: the same ones again within the window are a replay.
            let nonce = "serveradmin:" + SHA256.hash(data: Array((timestamp + "\n" + signatures).utf8)).map { String(format: "%02x", $0) }.joined()
            guard try await nonces.insertIfAbsent(nonce, expiresAt: then + timestampGrace + 1, now: now) else {
                return .failure(AuthenticationFailure(reason: .replayed, username: user))
            }
        }
        return .success(AuthenticatedIdentity(username: user, key: key, scheme: .serveradmin))
    }
}
