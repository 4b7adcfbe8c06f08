import AuthCore

/// Requests carrying a crtauth token (`Authorization: chap:<token>`): the token's MAC and
/// lifetime are checked with the current server's secrets; no store is asked. A token that
/// does not parse is refused like a wrong one (a 401), so that clients handshake again.
public struct ChapTokenAuthenticator: RequestAuthenticator {
    public var scheme: IdentityScheme { .chap }
    public var challenge: (name: String, value: String)? { ("WWW-Authenticate", "chap") }
    /// The server whose secrets check tokens (a closure: secrets rotate).
    private let server: @Sendable () -> AuthServer

    public init(server: @escaping @Sendable () -> AuthServer) { self.server = server }

    public func authenticate(_ request: RequestView, now: UInt64) async throws -> AuthenticationOutcome<AuthenticatedIdentity>? {
        try self.authenticate(authorization: request.values("Authorization"), now: now)
    }

    /// The same decision from the request's `Authorization` values alone, without suspending
    /// (a token needs no store): `nil` when none holds a chap token. With a `cache` (of the
    /// calling thread), a token found authentic before is not checked again.
    public func authenticate(authorization values: [String], now: UInt64, cache: ChapTokenCache? = nil) throws -> AuthenticationOutcome<AuthenticatedIdentity>? {
        guard let first = values.first, let token = ChapAuthorization.token(in: first) else { return nil }
        guard values.count == 1 else { throw CRTAuthError(.malformed, "more than one Authorization header") }
        return try self.decide(token, authorization: first, now: now, cache: cache)
    }

    /// The same for a request's one `Authorization` value.
    public func authenticate(authorization first: String, now: UInt64, cache: ChapTokenCache? = nil) throws -> AuthenticationOutcome<AuthenticatedIdentity>? {
        guard let token = ChapAuthorization.token(in: first) else { return nil }
        return try self.decide(token, authorization: first, now: now, cache: cache)
    }

    /// The decision on `token`, found in the `Authorization` value `first`.
    private func decide(_ token: Substring, authorization first: String, now: UInt64, cache: ChapTokenCache?) throws -> AuthenticationOutcome<AuthenticatedIdentity> {
        let outcome: AuthenticationOutcome<String>
        do {
            if let cache {
                outcome = try cache.validate(token, authorization: first, server: self.server(), now: now)
            } else {
                outcome = try self.server().validateToken(String(token), now: now)
            }
        } catch let error as CRTAuthError {
            return .failure(AuthenticationFailure(reason: .malformed, username: nil, detail: error.message))
        }
        switch outcome {
        case .success(let username): return .success(AuthenticatedIdentity(username: username, key: nil, scheme: .chap))
        case .failure(let failure): return .failure(failure)
        }
    }
}
