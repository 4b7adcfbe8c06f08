import AuthCore
import SSHKeys

/// Requests signed as serveradmin signs them (`X-Timestamp`, `X-PublicKeys`, `X-Signatures`
/// over the timestamp and the body); each key must be a user's registered key.
public struct ServeradminAuthenticator: RequestAuthenticator {
    public var scheme: IdentityScheme { .serveradmin }
    public let keys: any KeyOwnerLookup
    public let nonces: (any NonceStore)?
    public let policy: SSHVerificationPolicy

    public init(keys: any KeyOwnerLookup, nonces: (any NonceStore)?, policy: SSHVerificationPolicy = .standard) {
        self.keys = keys
        self.nonces = nonces
        self.policy = policy
    }

    public func authenticate(_ request: RequestView, now: UInt64) async throws -> AuthenticationOutcome<AuthenticatedIdentity>? {
        let timestamp = request.field("X-Timestamp"), signatures = request.field("X-Signatures")
        guard timestamp != nil || signatures != nil else { return nil }
        let keys = self.keys
        return try await ServeradminSignatures.verify(
            timestamp: timestamp, publicKeys: request.field("X-PublicKeys"), signatures: signatures, body: try await request.body(),
            now: now, owner: { key in
                guard let found = try await keys.owner(ofFingerprint: key.sha256Fingerprint, now: now), found.key == key else { return nil }
                return found.username
            }, nonces: self.nonces, policy: self.policy)
    }
}
