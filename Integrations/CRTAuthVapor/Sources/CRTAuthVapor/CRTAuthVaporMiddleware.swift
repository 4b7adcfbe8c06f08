import AuthCore
import CRTAuth
import Vapor

/// crtauth for a Vapor 4 application: the handshake endpoint and an ordered list of
/// per-request authenticators, the same ones the Hummingbird middleware and `crtauth serve`
/// use. An admitted request carries its ``AuthenticatedIdentity`` in `req.auth`
/// (`try req.auth.require(AuthenticatedIdentity.self)`); a request without credentials, or
/// with refused ones, is answered 401 (403 for a serveradmin signature by a key that is not
/// the user's, as serveradmin answers), a malformed one 400, and one whose store failed 503.
public struct CRTAuthVaporMiddleware: AsyncMiddleware {
    public struct Configuration: Sendable {
        /// Where the crtauth handshake is answered.
        public var handshakePath: String
        /// Paths served without credentials (a trailing `*` matches a prefix; see `ExemptPaths`).
        public var exemptPaths: [String]
        /// Largest body read for the schemes that sign it.
        public var maximumSignedBodyLength: Int
        /// `http` or `https`: how clients reach the service (RFC 9421 signs the URL).
        public var externalScheme: String

        public init(handshakePath: String = "/_auth", exemptPaths: [String] = [], maximumSignedBodyLength: Int = 1 << 20, externalScheme: String = "http") {
            self.handshakePath = handshakePath
            self.exemptPaths = exemptPaths
            self.maximumSignedBodyLength = maximumSignedBodyLength
            self.externalScheme = externalScheme
        }
    }

    /// Seconds a client is asked to wait when a store is unavailable.
    public static let retryAfterSeconds = 5

    let server: @Sendable () -> AuthServer
    let authenticators: [any AuthCore.RequestAuthenticator]
    let configuration: Configuration
    let clock: @Sendable () -> UInt64

    /// - Parameters:
    ///   - server: the crtauth server (a closure: secrets rotate); its handshake is served at
    ///     ``Configuration/handshakePath``.
    ///   - authenticators: tried in order; the first that recognises the request's credential decides.
    public init(server: @escaping @Sendable () -> AuthServer, authenticators: [any AuthCore.RequestAuthenticator], configuration: Configuration = .init(),
                clock: @escaping @Sendable () -> UInt64 = { UInt64(max(0, Date().timeIntervalSince1970)) }) {
        self.server = server
        self.authenticators = authenticators
        self.configuration = configuration
        self.clock = clock
    }

    public func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        let path = request.url.path
        if path == self.configuration.handshakePath { return await self.handshake(request) }
        if ExemptPaths(self.configuration.exemptPaths).contains(path) {
            return try await next.respond(to: request)
        }
        let limit = self.configuration.maximumSignedBodyLength
        let view = RequestView(
            method: request.method.rawValue, scheme: self.configuration.externalScheme, authority: request.headers.first(name: .host) ?? "",
            path: path, query: request.url.query, fields: VaporFields(headers: request.headers),
            body: { [request] in
                guard let buffer = try await request.body.collect(max: limit).get() else { return [] }
                return Array(buffer.readableBytesView)
            })
        let now = self.clock()
        for authenticator in self.authenticators {
            let outcome: AuthenticationOutcome<AuthenticatedIdentity>
            do {
                guard let decided = try await authenticator.authenticate(view, now: now) else { continue }
                outcome = decided
            } catch let error as AuthCoreError {
                self.audit(request, authenticator.scheme, user: nil, result: "store-unavailable", detail: error.message)
                return Self.unavailable
            } catch let abort as any AbortError {
                // Vapor's own: a signed body over the limit (413).
                self.audit(request, authenticator.scheme, user: nil, result: "malformed", detail: abort.reason)
                return Response(status: abort.status, body: .init(string: abort.reason + "\n"))
            } catch {
                let message = (error as? any MalformedCredential)?.message ?? "malformed credentials"
                self.audit(request, authenticator.scheme, user: nil, result: "malformed", detail: message)
                return Response(status: .badRequest, body: .init(string: String(message.prefix(200)) + "\n"))
            }
            switch outcome {
            case .success(let identity):
                self.audit(request, identity.scheme, user: identity.username, key: identity.keyFingerprint, result: "success", detail: nil)
                request.auth.login(identity)
                return try await next.respond(to: request)
            case .failure(let failure):
                self.audit(request, authenticator.scheme, user: failure.username, result: failure.reason.description, detail: failure.detail)
                if authenticator.scheme == .serveradmin, failure.reason == .badSignature { return Response(status: .forbidden) }
                return self.unauthorized
            }
        }
        return self.unauthorized
    }

    /// The crtauth handshake, answered by ``HandshakeEndpoint``.
    func handshake(_ request: Request) async -> Response {
        guard [.GET, .HEAD, .POST].contains(request.method) else {
            return Response(status: .methodNotAllowed, headers: ["Allow": "GET, HEAD, POST"], body: .init(string: "use GET, HEAD or POST for the crtauth handshake\n"))
        }
        let (_, answer) = await HandshakeEndpoint.answer(xCHAP: request.headers["X-CHAP"], server: self.server(), now: self.clock())
        switch answer {
        case .exchange(let value, let identity):
            if let identity { self.audit(request, identity.scheme, user: identity.username, key: identity.keyFingerprint, result: "success", detail: nil) }
            return Response(status: .ok, headers: ["X-CHAP": value])
        case .refused(let failure, let scheme):
            self.audit(request, scheme, user: failure.username, result: failure.reason.description, detail: failure.detail)
            return Response(status: .forbidden, body: .init(string: HandshakeEndpoint.forbiddenBody + "\n"))
        case .malformed(let reason, let auditResult):
            if let auditResult { self.audit(request, .handshakeOfUnknownVersion, user: nil, result: auditResult, detail: nil) }
            return Response(status: .badRequest, body: .init(string: String(reason.prefix(200)) + "\n"))
        case .unavailable(let detail):
            self.audit(request, .handshakeOfUnknownVersion, user: nil, result: "store-unavailable", detail: detail)
            return Self.unavailable
        }
    }

    /// 503 with `Retry-After`: a store failed.
    static var unavailable: Response {
        var headers = HTTPHeaders()
        headers.replaceOrAdd(name: .retryAfter, value: String(Self.retryAfterSeconds))
        return Response(status: .serviceUnavailable, headers: headers, body: .init(string: "key store unavailable, try again later\n"))
    }

    /// 401 naming the schemes this middleware accepts.
    var unauthorized: Response {
        var headers = HTTPHeaders()
        for case let (name, value)? in self.authenticators.map(\.challenge) { headers.add(name: name, value: value) }
        return Response(status: .unauthorized, headers: headers)
    }

    /// One line per decision, as the gateway's audit lines: never a credential.
    func audit(_ request: Request, _ scheme: IdentityScheme, user: String?, key: String? = nil, result: String, detail: String?) {
        var metadata: Logger.Metadata = ["scheme": .string(scheme.name), "result": .string(result)]
        if let user { metadata["user"] = .string(String(user.prefix(64))) }
        if let key { metadata["key"] = .string(key) }
        if let detail { metadata["detail"] = .string(String(detail.prefix(200))) }
        if let peer = request.remoteAddress?.ipAddress { metadata["peer"] = .string(peer) }
        request.logger.info("crtauth authentication", metadata: metadata)
    }
}

/// Vapor's header fields, read in place by the authenticators.
struct VaporFields: RequestFields {
    let headers: HTTPHeaders

    func values(_ name: String) -> [String] { self.headers[name] }
    var all: [(name: String, value: String)] { self.headers.map { ($0.name, $0.value) } }
}

/// The identity of an admitted request, as `req.auth` holds it.
extension AuthenticatedIdentity: @retroactive Authenticatable {}
