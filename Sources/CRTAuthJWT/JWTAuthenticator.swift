import AuthCore

/// Requests carrying an asymmetric_jwt_auth JWT (`Authorization: JWT <token>`), checked
/// against users' keys (and, through `jwks`, the JWKS each user trusts); every token once.
public struct JWTAuthenticator: RequestAuthenticator {
    public var scheme: IdentityScheme { .jwt }
    public var challenge: (name: String, value: String)? { ("WWW-Authenticate", AsymmetricJWT.scheme) }
    public let verifier: AsymmetricJWT.Verifier
    public let keys: any KeyProvider
    public let nonces: any NonceStore
    public let jwks: AsymmetricJWT.Verifier.JWKSKeyLookup?

    public init(verifier: AsymmetricJWT.Verifier = .init(), keys: any KeyProvider, nonces: any NonceStore, jwks: AsymmetricJWT.Verifier.JWKSKeyLookup? = nil) {
        self.verifier = verifier
        self.keys = keys
        self.nonces = nonces
        self.jwks = jwks
    }

    public func authenticate(_ request: RequestView, now: UInt64) async throws -> AuthenticationOutcome<AuthenticatedIdentity>? {
        let values = request.values("Authorization")
        guard let first = values.first, let token = AsymmetricJWT.Verifier.token(inAuthorization: Substring(first)) else { return nil }
        guard values.count == 1 else { throw JWTError(.malformed, "more than one Authorization header") }
        return try await self.verifier.verify(token: token, now: now, keys: self.keys, nonces: self.nonces, jwks: self.jwks)
    }
}
