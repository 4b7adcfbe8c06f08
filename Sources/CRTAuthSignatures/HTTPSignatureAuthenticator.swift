import AuthCore

/// Requests signed per RFC 9421 (`Signature-Input` and `Signature`, `keyid` a key's `SHA256:`
/// fingerprint); the body is read and checked against `Content-Digest` when there is one.
public struct HTTPSignatureAuthenticator: RequestAuthenticator {
    public var scheme: IdentityScheme { .signature }
    public var challenge: (name: String, value: String)? { ("Accept-Signature", HTTPMessageSignatures.acceptSignature) }
    public let keys: any KeyOwnerLookup
    public let nonces: any NonceStore
    public let policy: HTTPMessageSignatures.Policy

    public init(keys: any KeyOwnerLookup, nonces: any NonceStore, policy: HTTPMessageSignatures.Policy = .init()) {
        self.keys = keys
        self.nonces = nonces
        self.policy = policy
    }

    public func authenticate(_ request: RequestView, now: UInt64) async throws -> AuthenticationOutcome<AuthenticatedIdentity>? {
        let signatureInput = request.field("Signature-Input"), signature = request.field("Signature")
        guard signatureInput != nil || signature != nil else { return nil }
        return try await HTTPMessageSignatures.verify(
            request, body: try await request.body(), signatureInput: signatureInput, signature: signature,
            now: now, keys: self.keys, nonces: self.nonces, policy: self.policy)
    }
}
