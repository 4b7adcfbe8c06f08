import AuthCore

/// Tokens already found authentic, by the `Authorization` value that carried them, for one
/// thread (an event loop): a client sends its token with every request until it expires, and
/// checking it again (base64, parse, HMAC) was the largest part of answering such a request.
/// Only what the MAC check found is kept; when a token is valid is decided afresh each time.
/// Tokens that fail are never kept, so nobody without a valid token can fill it; it empties
/// when full and when the secrets change (rotation). Not thread-safe: one per thread.
public final class ChapTokenCache {
    /// Entries kept; the cache empties when it would hold more.
    public static let capacity = 1024

    /// The secrets the kept tokens were checked with (held, so that no other object can take
    /// their place in memory and pass for them).
    private var secrets: PreparedSecrets?
    private var tokens: [String: AuthServer.AuthenticToken] = [:]

    public init() {}

    /// `validateToken` of `token` (found in the `Authorization` value `authorization`), its
    /// MAC checked only the first time.
    func validate(_ token: Substring, authorization: String, server: AuthServer, now: UInt64) throws -> AuthenticationOutcome<String> {
        if self.secrets !== server.secrets {
            self.tokens.removeAll()
            self.secrets = server.secrets
        }
        if let known = self.tokens[authorization] { return AuthServer.outcome(of: known, now: now) }
        guard let authentic = try server.authenticToken(String(token)) else {
            return .failure(AuthenticationFailure(reason: .badMAC, username: nil))
        }
        if self.tokens.count >= Self.capacity { self.tokens.removeAll(keepingCapacity: true) }
        self.tokens[authorization] = authentic
        return AuthServer.outcome(of: authentic, now: now)
    }

    /// How many tokens it holds.
    public var count: Int { self.tokens.count }
}
