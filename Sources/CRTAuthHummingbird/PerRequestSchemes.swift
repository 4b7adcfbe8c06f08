import AuthCore
import CRTAuth
import CRTAuthJWT
import CRTAuthSignatures
import HTTPTypes
import Hummingbird
import HummingbirdAuth
import NIOCore
import SSHKeys

/// The authentication schemes ``CRTAuthMiddleware`` can accept.
public enum AuthenticationScheme: String, Sendable, CaseIterable, Hashable {
    /// crtauth's challenge-response handshake and `Authorization: chap:<token>`.
    case chap
    /// asymmetric_jwt_auth's `Authorization: JWT <jws>`.
    case jwt
    /// RFC 9421 HTTP Message Signatures.
    case signature
    /// serveradmin's `X-Timestamp` / `X-PublicKeys` / `X-Signatures`.
    case serveradmin
}

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

extension CRTAuthMiddleware {
    func authenticateJWT(_ token: Substring, _ perRequest: PerRequestSchemes, peer: SocketAddress?) async -> Authentication {
        var lookup: AsymmetricJWT.Verifier.JWKSKeyLookup?
        if let cache = perRequest.jwks, let trust = perRequest.keys as? any JWKSTrustLookup {
            lookup = { username, kid in
                guard let url = try await trust.jwksURL(for: username) else { return nil }
                return await cache.key(url: url, kid: kid)
            }
        }
        return await self.conclude(scheme: .jwt, peer: peer) {
            try await perRequest.jwt.verify(token: token, now: self.clock(), keys: perRequest.keys, nonces: perRequest.nonces, jwks: lookup)
        }
    }

    func authenticateSignature(_ request: inout Request, _ perRequest: PerRequestSchemes, peer: SocketAddress?) async -> Authentication {
        guard let keys = perRequest.keys as? any KeyOwnerLookup else { return .failure(self.unauthorized) }
        let authenticator = HTTPSignatureAuthenticator(keys: keys, nonces: perRequest.nonces, policy: perRequest.signaturePolicy)
        return await self.authenticateWithBody(&request, authenticator, peer: peer)
    }

    func authenticateServeradmin(_ request: inout Request, _ perRequest: PerRequestSchemes, peer: SocketAddress?) async -> Authentication {
        guard let keys = perRequest.keys as? any KeyOwnerLookup else { return .failure(self.unauthorized) }
        let authenticator = ServeradminAuthenticator(keys: keys, nonces: perRequest.nonces, policy: perRequest.serveradminPolicy)
        return await self.authenticateWithBody(&request, authenticator, peer: peer)
    }

    /// Runs a scheme that covers the body: the body is read (up to the limit) and kept in the
    /// request for the handler or the upstream.
    private func authenticateWithBody(_ request: inout Request, _ authenticator: some RequestAuthenticator, peer: SocketAddress?) async -> Authentication {
        let body: ByteBuffer
        switch await self.collectBody(&request, peer: peer, scheme: authenticator.scheme) {
        case .success(let buffer): body = buffer
        case .failure(let failure): return .failure(failure.response)
        }
        let view = RequestView(
            method: request.method.rawValue, scheme: self.configuration.externalScheme ?? "http", authority: request.head.authority ?? "",
            path: request.uri.path, query: request.uri.query, fields: request.headers.map { ($0.name.canonicalName, $0.value) },
            body: { Array(body.readableBytesView) })
        let now = self.clock()
        return await self.conclude(scheme: authenticator.scheme, peer: peer) {
            try await authenticator.authenticate(view, now: now) ?? .failure(AuthenticationFailure(reason: .refused, username: nil, detail: "no credential"))
        }
    }

    /// Reads the body (kept in the request for the handler or the upstream), up to the limit.
    private func collectBody(_ request: inout Request, peer: SocketAddress?, scheme: IdentityScheme) async -> Result<ByteBuffer, ResponseFailure> {
        do {
            return .success(try await request.collectBody(upTo: self.configuration.maximumSignedBodyLength))
        } catch {
            self.audit.record(scheme: scheme, user: nil, key: nil, result: .failure("body-too-large"), peer: peer)
            return .failure(ResponseFailure(response: Self.text(.contentTooLarge, "signed bodies are limited to \(self.configuration.maximumSignedBodyLength) bytes")))
        }
    }

    struct ResponseFailure: Error {
        let response: Response
    }

    /// Runs a verification and turns its outcome into the identity or the response, with an
    /// audit line: 400 malformed, 401 refused (403 for serveradmin's bad signature by a known
    /// key, as serveradmin answers), 503 + `Retry-After` when a store fails.
    private func conclude(scheme: IdentityScheme, peer: SocketAddress?, _ verify: () async throws -> AuthenticationOutcome<AuthenticatedIdentity>) async -> Authentication {
        do {
            switch try await verify() {
            case .success(let identity):
                self.audit.record(scheme: scheme, user: identity.username, key: identity.keyFingerprint, result: .success, peer: peer)
                return .success(identity)
            case .failure(let failure):
                self.audit.record(scheme: scheme, user: failure.username, key: nil, result: .failure(failure.reason.description), peer: peer, detail: failure.detail)
                if scheme == .serveradmin, failure.reason == .badSignature { return .failure(Self.forbidden) }
                return .failure(self.unauthorized)
            }
        } catch let error as AuthCoreError {
            // The key or nonce store failed: nothing the client did wrong.
            self.audit.record(scheme: scheme, user: nil, key: nil, result: .failure(error.code == .keyProvider ? "key-store-unavailable" : "nonce-store-unavailable"), peer: peer, detail: error.message)
            return .failure(Self.serviceUnavailable)
        } catch let error as CRTAuthError {
            self.audit.record(scheme: scheme, user: nil, key: nil, result: .failure("malformed"), peer: peer, detail: error.message)
            return .failure(Self.badRequest(error.message))
        } catch {
            self.audit.record(scheme: scheme, user: nil, key: nil, result: .failure("malformed"), peer: peer)
            return .failure(Self.badRequest("malformed credentials"))
        }
    }
}
