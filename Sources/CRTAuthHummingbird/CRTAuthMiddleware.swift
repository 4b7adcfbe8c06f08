import AuthCore
import CRTAuth
import CRTAuthJWT
import CRTAuthSignatures
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdAuth
import Logging
import Metrics
import NIOCore

extension HTTPField.Name {
    /// crtauth's handshake header.
    public static let xCHAP = HTTPField.Name("X-CHAP")!
}

/// Authentication for a Hummingbird router, by every scheme of the field, each ending in the
/// same ``AuthenticatedIdentity`` in the context:
/// - `chap` (crtauth): answers the `/_auth` handshake (`X-CHAP: request:…` → `challenge:…`,
///   `response:…` → `token:…`, by GET, HEAD or POST; v0, v1 and v2) and admits requests carrying
///   `Authorization: chap:<token>`;
/// - `jwt`: asymmetric_jwt_auth's `Authorization: JWT <jws>`;
/// - `signature`: RFC 9421 `Signature-Input` / `Signature` with `keyid` = an SSH fingerprint;
/// - `serveradmin`: `X-Timestamp` / `X-PublicKeys` / `X-Signatures`.
/// The per-request schemes need ``PerRequestSchemes`` (keys, nonces); `signature` and
/// `serveradmin` need a key store that implements ``KeyOwnerLookup`` and stay off otherwise.
///
/// Outcomes (docs/PROTOCOL.md lists where they differ from the Python middleware):
/// - a request without valid credentials: 401 with `WWW-Authenticate` for `chap` and `JWT`
///   and `Accept-Signature` for RFC 9421, as enabled;
/// - serveradmin headers with an invalid signature by a registered key: 403;
/// - a handshake that cannot be parsed: 400 with a short text/plain reason;
/// - a handshake that fails authentication: 403 `Failed to authenticate user`;
/// - a key store that cannot be reached: 503 with `Retry-After`.
/// Bad input never yields another 5xx. Each decision is one audit log line.
public struct CRTAuthMiddleware<Context: AuthRequestContext<AuthenticatedIdentity>>: RouterMiddleware {
    public struct Configuration: Sendable {
        /// Where the handshake is answered (crtauth's `/_auth`).
        public var handshakePath: String
        /// Paths served without authentication: exact paths, or prefixes ending in `*`.
        public var exemptPaths: [String]
        /// The schemes accepted.
        public var schemes: Set<AuthenticationScheme>
        /// Longest body read to check a body-covering signature (serveradmin, RFC 9421); larger
        /// ones get 413.
        public var maximumSignedBodyLength: Int
        /// The scheme clients use to reach this server, for RFC 9421's `@target-uri` and
        /// `@scheme` (`https` behind a TLS-terminating proxy); `http` when nil.
        public var externalScheme: String?

        public init(handshakePath: String = "/_auth", exemptPaths: [String] = [], schemes: Set<AuthenticationScheme> = [.chap], maximumSignedBodyLength: Int = 1 << 20, externalScheme: String? = nil) {
            self.handshakePath = handshakePath
            self.exemptPaths = exemptPaths
            self.schemes = schemes
            self.maximumSignedBodyLength = maximumSignedBodyLength
            self.externalScheme = externalScheme
        }
    }

    /// Longest `X-CHAP` or `Authorization` value read (a v2 response with a certificate and a
    /// 16384-bit RSA signature fits).
    public static var maximumHeaderLength: Int { ChapAuthorization.maximumLength }
    /// Seconds a client is asked to wait when the key store is unavailable.
    public static var retryAfterSeconds: Int { 5 }

    let server: AuthServerReference
    let configuration: Configuration
    let perRequest: PerRequestSchemes?
    let clock: @Sendable () -> UInt64
    let audit: Audit
    /// The 401 for this configuration (its challenges name the enabled schemes).
    let unauthorized: Response

    /// - Parameters:
    ///   - server: the crtauth server (replaceable for secret rotation).
    ///   - perRequest: what the JWT, RFC 9421 and serveradmin schemes need.
    ///   - clock: Unix seconds now (injected for tests).
    ///   - logger: where audit lines go (at info).
    public init(server: AuthServerReference, configuration: Configuration = .init(), perRequest: PerRequestSchemes? = nil, logger: Logger, clock: @escaping @Sendable () -> UInt64 = { UInt64(Date().timeIntervalSince1970) }) {
        var configuration = configuration
        if perRequest == nil { configuration.schemes.subtract([.jwt, .signature, .serveradmin]) }
        if !(perRequest?.keys is any KeyOwnerLookup) { configuration.schemes.subtract([.signature, .serveradmin]) }
        self.server = server
        self.configuration = configuration
        self.perRequest = perRequest
        self.clock = clock
        self.audit = Audit(logger: logger)
        var unauthorized = Self.text(.unauthorized, "Unauthorized")
        if configuration.schemes.contains(.chap) { unauthorized.headers.append(HTTPField(name: .wwwAuthenticate, value: "chap")) }
        if configuration.schemes.contains(.jwt) { unauthorized.headers.append(HTTPField(name: .wwwAuthenticate, value: AsymmetricJWT.scheme)) }
        if configuration.schemes.contains(.signature) { unauthorized.headers[.acceptSignature] = HTTPMessageSignatures.acceptSignature }
        self.unauthorized = unauthorized
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        if path == self.configuration.handshakePath, self.configuration.schemes.contains(.chap) {
            return await self.handshake(request, peer: Self.peer(context))
        }
        if self.isExempt(path) { return try await next(request, context) }
        var request = request
        switch await self.authenticate(&request, peer: Self.peer(context) /* evaluated only on failure */) {
        case .success(let identity):
            var context = context
            context.identity = identity
            return try await next(request, context)
        case .failure(let response):
            return response
        }
    }

    func isExempt(_ path: String) -> Bool {
        self.configuration.exemptPaths.contains { $0.hasSuffix("*") ? path.hasPrefix($0.dropLast()) : path == $0 }
    }

    static func peer(_ context: Context) -> SocketAddress? { (context as? any RemoteAddressRequestContext)?.remoteAddress }

    // MARK: Tokens

    enum Authentication {
        case success(AuthenticatedIdentity)
        case failure(Response)
    }

    /// Finds the request's credentials and checks them with the scheme they belong to.
    func authenticate(_ request: inout Request, peer: @autoclosure () -> SocketAddress?) async -> Authentication {
        let schemes = self.configuration.schemes
        let values = request.headers[values: .authorization]
        if let value = values.first {
            guard values.count == 1 else { return .failure(Self.badRequest("more than one Authorization header")) }
            if schemes.contains(.chap), let token = ChapAuthorization.token(in: value) { return self.authenticateChap(token, peer: peer()) }
            if schemes.contains(.jwt), let perRequest, let token = AsymmetricJWT.Verifier.token(inAuthorization: Substring(value)) {
                return await self.authenticateJWT(token, perRequest, peer: peer())
            }
            return .failure(self.unauthorized)
        }
        if schemes.contains(.signature), let perRequest, request.headers[.signatureInput] != nil || request.headers[.signature] != nil {
            return await self.authenticateSignature(&request, perRequest, peer: peer())
        }
        if schemes.contains(.serveradmin), let perRequest, request.headers[.xTimestamp] != nil || request.headers[.xSignatures] != nil {
            return await self.authenticateServeradmin(&request, perRequest, peer: peer())
        }
        return .failure(self.unauthorized)
    }

    /// Checks a crtauth token: HMAC only, no store, no suspension.
    func authenticateChap(_ token: Substring, peer: @autoclosure () -> SocketAddress?) -> Authentication {
        let outcome: AuthenticationOutcome<String>
        do {
            outcome = try self.server.current.validateToken(String(token), now: self.clock())
        } catch {
            // A token that does not even parse: refused like a wrong one, so clients re-handshake.
            self.audit.record(scheme: .chap, user: nil, key: nil, result: .failure("malformed-token"), peer: peer())
            return .failure(self.unauthorized)
        }
        switch outcome {
        case .success(let username):
            return .success(AuthenticatedIdentity(username: username, key: nil, scheme: .chap))
        case .failure(let failure):
            self.audit.record(scheme: .chap, user: failure.username, key: nil, result: .failure(failure.reason.description), peer: peer(), detail: failure.detail)
            return .failure(self.unauthorized)
        }
    }

    // MARK: Handshake

    func handshake(_ request: Request, peer: SocketAddress?) async -> Response {
        guard request.method == .get || request.method == .head || request.method == .post else {
            var response = Self.text(.methodNotAllowed, "use GET, HEAD or POST for the crtauth handshake")
            response.headers[.allow] = "GET, HEAD, POST"
            return response
        }
        let started = ContinuousClock.now
        let (stage, answer) = await HandshakeEndpoint.answer(xCHAP: request.headers[values: .xCHAP], server: self.server.current, now: self.clock())
        if let stage {
            let elapsed = ContinuousClock.now - started
            Timer(label: "crtauth_handshake_duration_seconds", dimensions: [("stage", stage.rawValue)])
                .recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
        }
        switch answer {
        case .exchange(let value, let identity):
            if let identity {
                self.audit.record(scheme: identity.scheme, user: identity.username, key: identity.keyFingerprint, result: .success, peer: peer)
            }
            return Response(status: .ok, headers: [.xCHAP: value, .contentLength: "0"])
        case .refused(let failure, let scheme):
            self.audit.record(scheme: scheme, user: failure.username, key: nil, result: .failure(failure.reason.description), peer: peer, detail: failure.detail)
            return Self.forbidden
        case .malformed(let reason, let auditResult):
            if let auditResult { self.audit.record(scheme: .handshakeOfUnknownVersion, user: nil, key: nil, result: .failure(auditResult), peer: peer) }
            return Self.badRequest(reason)
        case .unavailable(let detail):
            self.audit.logger.error("key store unavailable", metadata: ["error": .string(detail)])
            return Self.serviceUnavailable
        }
    }

    // MARK: Responses

    static var serviceUnavailable: Response {
        var response = text(.serviceUnavailable, "key store unavailable, try again later")
        response.headers[.retryAfter] = String(retryAfterSeconds)
        return response
    }

    static var forbidden: Response { text(.forbidden, HandshakeEndpoint.forbiddenBody) }

    static func badRequest(_ reason: String) -> Response { text(.badRequest, String(reason.prefix(200))) }

    static func text(_ status: HTTPResponse.Status, _ body: String) -> Response {
        var buffer = ByteBuffer()
        buffer.writeString(body + "\n")
        return Response(status: status, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: buffer))
    }
}
