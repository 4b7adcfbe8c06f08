import AsyncHTTPClient
import AuthCore
import CRTAuth
import CRTAuthJWT
import CRTAuthSignatures
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import SSHAgent
import SSHKeys

/// An HTTP client for APIs protected by crtauth: when it has no fresh token, or the server
/// answers 401, it runs the `/_auth` handshake, caches the token until just before it expires
/// (in memory, and on disk when given a ``TokenCache``), and retries the request once.
/// Concurrent requests for the same server and user share one handshake.
///
/// With another ``Scheme`` it signs each request instead: an asymmetric_jwt_auth JWT, an
/// RFC 9421 signature, or serveradmin's headers.
public final class CRTAuthClient: Sendable {
    /// How requests are authenticated.
    /// How requests are authenticated (the schemes a server accepts).
    public typealias Scheme = AuthenticationScheme

    public struct Configuration: Sendable {
        /// Who to authenticate as.
        public var username: String
        /// `nil`: v2 when a signer holds a non-RSA key (falling back to v1 when the server
        /// refuses the v2 request and an RSA key is there), v1 for RSA keys only.
        public var protocolVersion: CRTAuthVersion?
        /// GET by default; HEAD for servers older than crtauth 0.99.3; POST allowed.
        public var handshakeMethod: HTTPMethod
        /// Where tokens are kept between processes (nil: memory only).
        public var tokenCache: TokenCache?
        /// Longest wait for any answer.
        public var timeout: TimeAmount
        /// Seconds before a token's end that it stops being used.
        public var expiryMargin: UInt64
        /// How requests are authenticated.
        public var scheme: Scheme

        public init(username: String, protocolVersion: CRTAuthVersion? = nil, handshakeMethod: HTTPMethod = .GET, tokenCache: TokenCache? = nil, timeout: TimeAmount = .seconds(30), expiryMargin: UInt64 = 5, scheme: Scheme = .chap) {
            self.scheme = scheme
            self.username = username
            self.protocolVersion = protocolVersion
            self.handshakeMethod = handshakeMethod
            self.tokenCache = tokenCache
            self.timeout = timeout
            self.expiryMargin = expiryMargin
        }
    }

    /// Largest handshake answer body read.
    public static let maximumHandshakeBody = 64 * 1024

    public let configuration: Configuration
    let signers: SignerSource
    public let httpClient: HTTPClient
    private let handshakes = HandshakeCoordinator()
    private let clock: @Sendable () -> UInt64
    /// Called with each handshake step, for `crtauth curl -v` (never given a credential).
    let trace: (@Sendable (String) -> Void)?

    /// - Parameters:
    ///   - signers: the keys to answer challenges with (ssh-agent or a key file).
    ///   - trace: receives a line per handshake step (no credentials).
    public init(configuration: Configuration, signers: SignerSource, httpClient: HTTPClient? = nil, clock: (@Sendable () -> UInt64)? = nil, trace: (@Sendable (String) -> Void)? = nil) {
        self.configuration = configuration
        self.signers = signers
        // AsyncHTTPClient's shared client needs no shutdown, so a client dropped early (an error
        // thrown past its owner) never trips AsyncHTTPClient's "not shut down" assertion.
        self.httpClient = httpClient ?? HTTPClient.shared
        self.clock = clock ?? { UInt64(max(0, Date().timeIntervalSince1970)) }
        self.trace = trace
    }

    /// Kept for callers written against earlier versions: nothing to release any more.
    public func shutdown() async throws {
        // The shared client is never shut down; a client passed in is its owner's to shut down.
    }

    // MARK: Requests

    /// Sends `request` with a crtauth token, handshaking first when there is no fresh token,
    /// and once more after a 401 (when `body` can be sent again: bytes, not a stream).
    public func execute(_ request: HTTPClientRequest, body: ByteBuffer? = nil) async throws -> HTTPClientResponse {
        guard self.configuration.scheme == .chap else { return try await self.executeSigned(request, body: body) }
        let server = try Server(url: request.url)
        var token = try await self.token(for: server, forceHandshake: false)
        var attempt = 0
        while true {
            var authorized = request
            authorized.headers.replaceOrAdd(name: "Authorization", value: "chap:" + token.token)
            if let body { authorized.body = .bytes(body) }
            let response = try await self.send(authorized)
            // A streamed body cannot be sent twice: then the 401 is the answer.
            let canResend = body != nil || request.body == nil
            guard response.status == .unauthorized, attempt == 0, canResend else { return response }
            _ = try? await response.body.collect(upTo: Self.maximumHandshakeBody)
            self.trace?("* the server answered 401: handshaking again")
            token = try await self.token(for: server, forceHandshake: false, replacing: token)
            attempt += 1
        }
    }

    /// Sends `request` signed by the first key that can sign for the configured scheme.
    func executeSigned(_ request: HTTPClientRequest, body: ByteBuffer?) async throws -> HTTPClientResponse {
        _ = try Server(url: request.url)
        let scheme = self.configuration.scheme
        let signers = try await self.signers.signers()
        let usable: (any Signer)? = switch scheme {
        case .jwt: signers.first { AsymmetricJWT.Algorithm.preferred(for: $0.publicKey.type) != nil }
        case .signature: signers.first { HTTPMessageSignatures.Algorithm.preferred(for: $0.publicKey.type) != nil }
        default: signers.first { !$0.publicKey.type.isSecurityKey }
        }
        guard let signer = usable else {
            throw CRTAuthClientError(.noUsableKey, "none of the keys can sign for \(scheme.rawValue): use an Ed25519, ECDSA or RSA key")
        }
        self.trace?("* signing with \(signer.publicKey.sha256Fingerprint) (\(scheme.rawValue))")
        var signed = request
        let bytes = body.map { Array($0.readableBytesView) } ?? []
        if let body { signed.body = .bytes(body) }
        let now = self.clock()
        do {
            switch scheme {
            case .jwt:
                signed.headers.replaceOrAdd(name: "Authorization", value: try await AsymmetricJWT.authorization(username: self.configuration.username, signer: signer, time: now))
            case .signature:
                guard let url = URL(string: request.url), let message = HTTPMessageSignatures.Message(method: request.method.rawValue, url: url, fields: request.headers.map { ($0.name, $0.value) }) else {
                    throw CRTAuthClientError(.invalidURL, "'\(request.url)' is not an http:// or https:// URL")
                }
                for (name, value) in try await HTTPMessageSignatures.sign(message, body: bytes, signer: signer, created: now) {
                    signed.headers.replaceOrAdd(name: name, value: value)
                }
            case .serveradmin, .chap:
                for (name, value) in try await ServeradminSignatures.headers(timestamp: now, body: bytes, signers: [signer]) {
                    signed.headers.replaceOrAdd(name: name, value: value)
                }
            }
        } catch let error as CRTAuthClientError {
            throw error
        } catch {
            throw CRTAuthClientError(.keyNotLoaded, "signing the request failed: \(error)")
        }
        return try await self.send(signed)
    }

    /// A fresh token for the server of `url` (from the caches when possible).
    public func token(for url: String, forceHandshake: Bool = false) async throws -> CachedToken {
        try await self.token(for: Server(url: url), forceHandshake: forceHandshake)
    }

    /// - Parameters:
    ///   - forceHandshake: handshake even when a fresh token is held (`crtauth login`).
    ///   - stale: a token the server just refused; any other fresh one (from a concurrent
    ///     handshake) is used instead of a new handshake.
    func token(for server: Server, forceHandshake: Bool, replacing stale: CachedToken? = nil) async throws -> CachedToken {
        let key = server.cacheKey + "\n" + self.configuration.username
        let clock = self.clock
        let isUsable: @Sendable (CachedToken) -> Bool = { !forceHandshake && $0.isFresh(at: clock()) && $0 != stale }
        return try await self.handshakes.token(for: key, isUsable: isUsable) {
            func usable(_ token: CachedToken?) -> CachedToken? { token.flatMap { isUsable($0) ? $0 : nil } }
            if !forceHandshake {
                if let token = usable(self.configuration.tokenCache?.load(scheme: server.scheme, host: server.host, port: server.port, user: self.configuration.username)) {
                    self.trace?("* using the cached token (valid until \(Self.iso(token.expiresAt)))")
                    return token
                }
            }
            let token = try await self.handshake(server)
            do {
                try self.configuration.tokenCache?.store(token, scheme: server.scheme, host: server.host, port: server.port)
            } catch {
                self.trace?("* \(error)")
            }
            return token
        }
    }

    /// Sends `request` as it is, with no credential added (a redirect to another origin).
    public func executeWithoutCredentials(_ request: HTTPClientRequest, body: ByteBuffer? = nil) async throws -> HTTPClientResponse {
        var plain = request
        if let body { plain.body = .bytes(body) }
        return try await self.send(plain)
    }

    private func send(_ request: HTTPClientRequest) async throws -> HTTPClientResponse {
        if let trace = self.trace { RequestTrace.request(request, to: trace) }
        let response: HTTPClientResponse
        do {
            response = try await self.httpClient.execute(request, timeout: self.configuration.timeout)
        } catch {
            throw Self.transportError(error, url: request.url)
        }
        if let trace = self.trace { RequestTrace.response(response, to: trace) }
        return response
    }

    static func transportError(_ error: any Error, url: String) -> CRTAuthClientError {
        if let error = error as? HTTPClientError, error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout {
            return CRTAuthClientError(.timeout, "\(url) did not answer in time")
        }
        if "\(error)".lowercased().contains("timeout") || "\(error)".lowercased().contains("timed out") {
            return CRTAuthClientError(.timeout, "\(url) did not answer in time")
        }
        return CRTAuthClientError(.network, "cannot reach \(url): \(error)")
    }

    static func iso(_ seconds: UInt64) -> String { ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: TimeInterval(seconds))) }

    // MARK: Handshake

    func handshake(_ server: Server) async throws -> CachedToken {
        let signers = try await self.signers.signers()
        let hasRSA = signers.contains { $0.publicKey.type == .rsa }
        let hasOther = signers.contains { $0.publicKey.type != .rsa }
        let versions: [CRTAuthVersion]
        if let chosen = self.configuration.protocolVersion {
            versions = [chosen]
        } else {
            versions = hasOther ? (hasRSA ? [.v2, .v1] : [.v2]) : [.v1]
        }
        var lastError: (any Error)?
        for (index, version) in versions.enumerated() {
            do {
                return try await self.handshake(server, version: version, signers: signers)
            } catch let error as CRTAuthClientError where error.code == .authenticationFailed && index + 1 < versions.count {
                self.trace?("* the server refused the \(version) request; trying v1")
                lastError = error
            }
        }
        throw lastError ?? CRTAuthClientError(.noUsableKey, "no usable key")
    }

    func handshake(_ server: Server, version: CRTAuthVersion, signers: [any Signer]) async throws -> CachedToken {
        let user = self.configuration.username
        let request = CRTAuthClientResponder.request(username: user, version: version)
        self.trace?("* crtauth \(version) handshake for \(user) at \(server.authURL)")
        let challenge = try await self.exchange(server, "request:" + (version == .v0 ? user : request), expecting: "challenge", stage: "request")
        let answer: CRTAuthClientResponder.Answer
        do {
            answer = try await CRTAuthClientResponder.answer(challenge, serverName: server.host, signers: signers)
        } catch let error as CRTAuthError {
            switch error.code {
            case .serverNameMismatch: throw CRTAuthClientError(.serverNameMismatch, error.message)
            case .noMatchingKey: throw CRTAuthClientError(.keyNotLoaded, error.message)
            default: throw CRTAuthClientError(.notCrtauth, "the server's challenge is not valid crtauth: \(error.message)")
            }
        }
        let fingerprint = answer.signer.publicKey.sha256Fingerprint
        self.trace?("* challenge for \(answer.challenge.username) at \(answer.challenge.serverName) (\(answer.challenge.version)); signing with \(fingerprint)")
        let issuedAt = self.clock()
        let tokenText = try await self.exchange(server, "response:" + answer.response.encoded, expecting: "token", stage: "response")
        let expiresAt: UInt64
        if let token = try? CRTAuthToken(decoding: tokenText), token.validTo > token.validFrom {
            // The server's clock may differ from ours: count the lifetime from now, less the
            // 2 s the server backdates tokens by, less a margin.
            let lifetime = token.validTo - token.validFrom
            expiresAt = issuedAt + lifetime.subtractingSaturated(AuthServer.clockFudge + self.configuration.expiryMargin)
        } else {
            expiresAt = issuedAt + 20  // an opaque token: assume a short life
        }
        self.trace?("* token for \(user), valid until \(Self.iso(expiresAt))")
        return CachedToken(token: tokenText, username: user, keyFingerprint: fingerprint, expiresAt: expiresAt, scheme: IdentityScheme.handshake(answer.challenge.version).name, server: server.cacheKey)
    }

    /// One `/_auth` round trip; returns the payload of `X-CHAP: expecting:…`.
    func exchange(_ server: Server, _ value: String, expecting method: String, stage: String) async throws -> String {
        var request = HTTPClientRequest(url: server.authURL)
        request.method = self.configuration.handshakeMethod
        request.headers.add(name: "X-CHAP", value: value)
        let response = try await self.send(request)
        let body: ByteBuffer
        do {
            body = try await response.body.collect(upTo: Self.maximumHandshakeBody)
        } catch {
            throw CRTAuthClientError(.tooLarge, "the server's answer to the crtauth \(stage) is larger than \(Self.maximumHandshakeBody) bytes")
        }
        let reason = String(buffer: body).trimmingCharacters(in: .whitespacesAndNewlines).prefix(200)
        switch response.status.code {
        case 200:
            guard let header = response.headers.first(name: "X-CHAP") else {
                throw CRTAuthClientError(.notCrtauth, "\(server.authURL) answered 200 without an X-CHAP header: the server does not speak crtauth (or a proxy drops the header)")
            }
            let parts = header.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces) == method else {
                throw CRTAuthClientError(.notCrtauth, "\(server.authURL) answered X-CHAP '\(header.prefix(20))…' where a \(method) was expected")
            }
            return parts[1].trimmingCharacters(in: .whitespaces)
        case 403, 401:
            if stage == "request" {
                throw CRTAuthClientError(.authenticationFailed, "\(server.host) refused to send a challenge for user \(self.configuration.username) (unknown user, no registered key, or a protocol version it does not accept)")
            }
            throw CRTAuthClientError(.authenticationFailed, "\(server.host) did not accept the signature for user \(self.configuration.username): the key may not be registered for this user, or the clocks of this machine and the server differ by more than 20 seconds")
        case 400:
            throw CRTAuthClientError(.authenticationFailed, "\(server.host) rejected the crtauth \(stage)\(reason.isEmpty ? "" : ": \(reason)")")
        case 404, 405:
            throw CRTAuthClientError(.notCrtauth, "\(server.authURL) answered \(response.status.code): the server does not speak crtauth there")
        default:
            throw CRTAuthClientError(.notCrtauth, "\(server.authURL) answered \(response.status.code) to the crtauth \(stage)\(reason.isEmpty ? "" : ": \(reason)")")
        }
    }
}

/// Where a client's keys come from.
public enum SignerSource: Sendable {
    /// The ssh-agent at `SSH_AUTH_SOCK` (or `socketPath`).
    case agent(socketPath: String?)
    /// Fixed signers (a key file loaded by the caller, tests).
    case signers([any Signer])

    /// The signers: the key file, or every key ssh-agent holds.
    public func signers() async throws -> [any Signer] {
        switch self {
        case .signers(let signers):
            guard !signers.isEmpty else { throw CRTAuthClientError(.noUsableKey, "no key to sign with") }
            return signers
        case .agent(let socketPath):
            let agent: SSHAgentClient
            if let socketPath {
                agent = SSHAgentClient(socketPath: socketPath)
            } else {
                guard let client = try? SSHAgentClient() else {
                    throw CRTAuthClientError(.noAgent, "SSH_AUTH_SOCK is not set: start an agent (eval \"$(ssh-agent)\") and add your key with ssh-add, or pass --identity KEYFILE")
                }
                agent = client
            }
            let identities: [SSHAgentClient.Identity]
            do {
                identities = try await agent.identities()
            } catch {
                throw CRTAuthClientError(.noAgent, "cannot talk to ssh-agent at \(agent.socketPath) (\(error)); is it still running? Start one with eval \"$(ssh-agent)\" and ssh-add your key")
            }
            guard !identities.isEmpty else {
                throw CRTAuthClientError(.noUsableKey, "ssh-agent holds no keys: add yours with ssh-add, or pass --identity KEYFILE")
            }
            return identities.map { AgentSigner(agent: agent, identity: $0.identity) }
        }
    }
}

/// A server as the client addresses it: scheme, host (the crtauth server name), port.
struct Server: Sendable {
    let scheme: String
    let host: String
    let port: Int
    let authURL: String

    init(url text: String) throws {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https",
              var host = components.host, !host.isEmpty else {
            throw CRTAuthClientError(.invalidURL, "'\(text)' is not an http:// or https:// URL")
        }
        // An IPv6 literal's brackets are URL syntax, not part of the name (userinfo is never
        // part of it either: URLComponents keeps it apart).
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        self.scheme = scheme
        self.host = host.lowercased()
        self.port = components.port ?? (scheme == "https" ? 443 : 80)
        let authority = self.host.contains(":") ? "[\(self.host)]" : self.host
        self.authURL = "\(scheme)://\(authority):\(self.port)/_auth"
    }

    var cacheKey: String { "\(self.scheme)://\(self.host):\(self.port)" }
}

extension CRTAuthClient {
    /// The origin a URL's tokens are kept under (``CachedToken/server``): `scheme://host:port`.
    public static func origin(of url: String) throws -> String { try Server(url: url).cacheKey }
}

/// One handshake at a time per server and user; the others wait for its token.
actor HandshakeCoordinator {
    private var tokens: [String: CachedToken] = [:]
    private var running: [String: Task<CachedToken, any Error>] = [:]

    /// The token in memory when `isUsable` says so, else the one a running handshake brings,
    /// else what `obtain` returns (the disk cache or a new handshake).
    func token(for key: String, isUsable: (CachedToken) -> Bool, _ obtain: @escaping @Sendable () async throws -> CachedToken) async throws -> CachedToken {
        if let token = self.tokens[key], isUsable(token) { return token }
        if let task = self.running[key] { return try await task.value }
        let task = Task { try await obtain() }
        self.running[key] = task
        defer { self.running[key] = nil }
        let token = try await task.value
        self.tokens[key] = token
        return token
    }
}
