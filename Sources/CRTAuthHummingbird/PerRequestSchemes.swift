import AuthCore
import CRTAuth
import CRTAuthJWT
import CRTAuthSignatures
import HTTPTypes
import Hummingbird
import HummingbirdAuth
import NIOCore
import SSHKeys

/// What the per-request schemes (JWT, RFC 9421, serveradmin) need: users' keys and a replay
/// store shared by every instance that accepts the same credentials.
public struct PerRequestSchemes: Sendable {
    /// Users' keys. RFC 9421 and serveradmin also need it to be a ``KeyOwnerLookup``.
    public var keys: any KeyProvider
    public var nonces: any NonceStore
    public var jwt: AsymmetricJWT.Verifier
    public var signaturePolicy: HTTPMessageSignatures.Policy
    /// serveradmin's RSA signatures from ssh-agent are SHA-1 (`ssh-rsa`); `.standard` refuses them.
    public var serveradminPolicy: SSHVerificationPolicy
    /// Fetches the JWKS a user trusts, when ``keys`` names one (``JWKSTrustLookup``).
    public var jwks: JWKSCache?

    public init(keys: any KeyProvider, nonces: any NonceStore, jwt: AsymmetricJWT.Verifier = .init(), signaturePolicy: HTTPMessageSignatures.Policy = .init(), serveradminPolicy: SSHVerificationPolicy = .standard, jwks: JWKSCache? = nil) {
        self.jwks = jwks
        self.keys = keys
        self.nonces = nonces
        self.jwt = jwt
        self.signaturePolicy = signaturePolicy
        self.serveradminPolicy = serveradminPolicy
    }
}

extension HTTPField.Name {
    public static let signatureInput = HTTPField.Name("Signature-Input")!
    public static let signature = HTTPField.Name("Signature")!
    public static let acceptSignature = HTTPField.Name("Accept-Signature")!
    public static let contentDigest = HTTPField.Name("Content-Digest")!
    public static let xTimestamp = HTTPField.Name("X-Timestamp")!
    public static let xPublicKeys = HTTPField.Name("X-PublicKeys")!
    public static let xSignatures = HTTPField.Name("X-Signatures")!
}

extension PerRequestSchemes {
    /// The authenticators of the per-request schemes among `schemes`, in the order JWT,
    /// RFC 9421, serveradmin; the last two only when ``keys`` is a ``KeyOwnerLookup``.
    public func authenticators(for schemes: Set<AuthenticationScheme>) -> [any RequestAuthenticator] {
        var authenticators: [any RequestAuthenticator] = []
        if schemes.contains(.jwt) {
            authenticators.append(JWTAuthenticator(verifier: self.jwt, keys: self.keys, nonces: self.nonces, jwks: self.jwksLookup))
        }
        if let owners = self.keys as? any KeyOwnerLookup {
            if schemes.contains(.signature) { authenticators.append(HTTPSignatureAuthenticator(keys: owners, nonces: self.nonces, policy: self.signaturePolicy)) }
            if schemes.contains(.serveradmin) { authenticators.append(ServeradminAuthenticator(keys: owners, nonces: self.nonces, policy: self.serveradminPolicy)) }
        }
        return authenticators
    }

    /// The key a user's trusted JWKS holds under a `kid`, through the cache.
    private var jwksLookup: AsymmetricJWT.Verifier.JWKSKeyLookup? {
        guard let cache = self.jwks, let trust = self.keys as? any JWKSTrustLookup else { return nil }
        return { username, kid in
            guard let url = try await trust.jwksURL(for: username) else { return nil }
            return await cache.key(url: url, kid: kid)
        }
    }
}
