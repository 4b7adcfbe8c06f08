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
/// Underneath it is an ordered list of ``RequestAuthenticator``s (the first that finds its
/// credential in a request decides) plus the handshake route; build one from your own list
/// with ``init(server:authenticators:configuration:logger:clock:)``.
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
        /// The schemes accepted, for the initializer that builds the authenticators (the one
        /// given a list takes the schemes of its authenticators instead).
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
    /// Tried in order; the first that recognises the request's credential decides.
    let authenticators: [any RequestAuthenticator]
    let clock: @Sendable () -> UInt64
    let audit: Audit
    /// The 401 for this configuration (its challenges name the enabled schemes).
    let unauthorized: Response
    private let handshakeTimers = MetricSeriesCache<HandshakeEndpoint.Stage, Timer>()

    /// The middleware for the schemes of `configuration`, in the order chap, JWT, RFC 9421,
    /// serveradmin.
    /// - Parameters:
    ///   - server: the crtauth server (replaceable for secret rotation).
    ///   - perRequest: what the JWT, RFC 9421 and serveradmin schemes need.
    ///   - clock: Unix seconds now (injected for tests).
    ///   - logger: where audit lines go (at info).
    public init(server: AuthServerReference, configuration: Configuration = .init(), perRequest: PerRequestSchemes? = nil, logger: Logger, clock: @escaping @Sendable () -> UInt64 = { UInt64(Date().timeIntervalSince1970) }) {
        var authenticators: [any RequestAuthenticator] = []
        if configuration.schemes.contains(.chap) { authenticators.append(ChapTokenAuthenticator(server: { server.current })) }
        if let perRequest { authenticators += perRequest.authenticators(for: configuration.schemes) }
        self.init(server: server, authenticators: authenticators, configuration: configuration, logger: logger, clock: clock)
    }

    /// The middleware for an ordered list of authenticators. The crtauth handshake is answered
    /// at ``Configuration/handshakePath`` when the list holds a ``ChapTokenAuthenticator``;
    /// ``Configuration/schemes`` is not read.
    public init(server: AuthServerReference, authenticators: [any RequestAuthenticator], configuration: Configuration = .init(), logger: Logger,
                clock: @escaping @Sendable () -> UInt64 = { UInt64(Date().timeIntervalSince1970) }) {
        var configuration = configuration
        configuration.schemes = Set(authenticators.map(\.scheme.authenticationScheme))
        self.server = server
        self.configuration = configuration
        self.authenticators = authenticators
        self.clock = clock
        self.audit = Audit(logger: logger)
        var unauthorized = Self.text(.unauthorized, "Unauthorized")
        for case let (name, value)? in authenticators.map(\.challenge) {
            if let name = HTTPField.Name(name) { unauthorized.headers.append(HTTPField(name: name, value: value)) }
        }
        self.unauthorized = unauthorized
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        if path == self.configuration.handshakePath, self.configuration.schemes.contains(.chap) {
            return await self.handshake(request, peer: Self.peer(context))
        }
        if self.isExempt(path) { return try await next(request, context) }
        let body = RequestBodyReader(request, limit: self.configuration.maximumSignedBodyLength)
        let view = RequestView(
            method: request.method.rawValue, scheme: self.configuration.externalScheme ?? "http", authority: request.head.authority ?? "",
            path: path, query: request.uri.query, fields: HummingbirdFields(fields: request.headers), body: body.read)
        switch await self.authenticate(view, body: body, peer: Self.peer(context) /* evaluated only when logged */) {
        case .success(let identity):
            var context = context
            context.identity = identity
            return try await next(body.request, context)
        case .failure(let response):
            return response
        }
    }

    func isExempt(_ path: String) -> Bool { ExemptPaths(self.configuration.exemptPaths).contains(path) }

    static func peer(_ context: Context) -> SocketAddress? { (context as? any RemoteAddressRequestContext)?.remoteAddress }

    // MARK: Authenticators

    enum Authentication {
        case success(AuthenticatedIdentity)
        case failure(Response)
    }

    /// Asks each authenticator in turn; the first that finds its credential decides, with one
    /// audit line (admitted crtauth tokens are counted, not logged: they are every request).
    /// 400 malformed, 401 refused (403 for serveradmin's bad signature by a known key, as
    /// serveradmin answers), 413 for a signed body over the limit, 503 + `Retry-After` when a
    /// store fails.
    func authenticate(_ view: RequestView, body: RequestBodyReader, peer: @autoclosure () -> SocketAddress?) async -> Authentication {
        let now = self.clock()
        for authenticator in self.authenticators {
            let scheme = authenticator.scheme
            let outcome: AuthenticationOutcome<AuthenticatedIdentity>
            do {
                guard let decided = try await authenticator.authenticate(view, now: now) else { continue }
                outcome = decided
            } catch let error as AuthCoreError {
                // The key or nonce store failed: nothing the client did wrong.
                self.audit.record(scheme: scheme, user: nil, key: nil, result: .failure(error.code == .keyProvider ? "key-store-unavailable" : "nonce-store-unavailable"), peer: peer(), detail: error.message)
                return .failure(Self.serviceUnavailable)
            } catch where body.exceededLimit {
                self.audit.record(scheme: scheme, user: nil, key: nil, result: .failure("body-too-large"), peer: peer())
                return .failure(Self.text(.contentTooLarge, "signed bodies are limited to \(self.configuration.maximumSignedBodyLength) bytes"))
            } catch {
                let message = (error as? any MalformedCredential)?.message ?? "malformed credentials"
                self.audit.record(scheme: scheme, user: nil, key: nil, result: .failure("malformed"), peer: peer(), detail: message)
                return .failure(Self.badRequest(message))
            }
            switch outcome {
            case .success(let identity):
                if scheme != .chap {
                    self.audit.record(scheme: scheme, user: identity.username, key: identity.keyFingerprint, result: .success, peer: peer())
                } else {
                    AccessRecord.current?.note(scheme: scheme, user: identity.username, key: nil, refusal: nil)
                }
                return .success(identity)
            case .failure(let failure):
                self.audit.record(scheme: scheme, user: failure.username, key: nil, result: .failure(failure.reason.description), peer: peer(), detail: failure.detail)
                if scheme == .serveradmin, failure.reason == .badSignature { return .failure(Self.forbidden) }
                return .failure(self.unauthorized)
            }
        }
        AccessRecord.current?.note(scheme: nil, user: nil, key: nil, refusal: "no-credentials")
        return .failure(self.unauthorized)
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
        if let stage { self.recordDuration(of: stage, since: started) }
        switch answer {
        case .exchange(let value, let identity):
            if let identity { self.recordIssued(identity, fingerprint: identity.keyFingerprint, peer: peer) }
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

    /// The handshake of a GET or POST answered on the calling thread when it succeeds there
    /// (the key store answers without waiting, and the request earns a challenge or a token),
    /// recorded as ``handshake(_:peer:)`` records it: the `X-CHAP` value of the 200 and what
    /// the access log is told. Nil for anything else, which ``handshake(_:peer:)`` then
    /// answers from the start.
    package func exchangeWithoutWaiting(xCHAP values: [String], peer: SocketAddress?) -> (xCHAP: String, fields: AccessRecord.Fields)? {
        let started = ContinuousClock.now
        guard self.configuration.schemes.contains(.chap),
              let (stage, answer) = HandshakeEndpoint.answerWithoutWaiting(xCHAP: values, server: self.server.current, now: self.clock()),
              case .exchange(let value, let identity) = answer, let stage else { return nil }
        self.recordDuration(of: stage, since: started)
        guard let identity else { return (value, AccessRecord.Fields()) }
        let fingerprint = identity.keyFingerprint
        self.recordIssued(identity, fingerprint: fingerprint, peer: peer)
        return (value, AccessRecord.Fields(user: Audit.escaped(identity.username), key: fingerprint, scheme: identity.scheme))
    }

    private func recordDuration(of stage: HandshakeEndpoint.Stage, since started: ContinuousClock.Instant) {
        self.handshakeTimers.metric(stage) {
            Timer(label: "crtauth_handshake_duration_seconds", dimensions: [("stage", stage.rawValue)])
        }.recordInterval(since: started)
    }

    private func recordIssued(_ identity: AuthenticatedIdentity, fingerprint: String?, peer: SocketAddress?) {
        self.audit.record(scheme: identity.scheme, user: identity.username, key: fingerprint, result: .success, peer: peer)
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
