/// One authentication scheme as a framework middleware uses it: given a request, either "no
/// credential of mine here" (nil: the next authenticator is asked), or the outcome — an
/// identity, or a failure whose reason and detail go to the audit log. A middleware holds an
/// ordered list of these.
///
/// Throws for a credential that is malformed (the scheme's own error: a 400) and
/// ``AuthCoreError`` when a store fails (a 503).
public protocol RequestAuthenticator: Sendable {
    /// The scheme this authenticator establishes identities by (for logs and metrics).
    var scheme: IdentityScheme { get }
    /// The header field a 401 carries to ask for this scheme's credential
    /// (`WWW-Authenticate: chap`, say), if the scheme has one.
    var challenge: (name: String, value: String)? { get }
    func authenticate(_ request: RequestView, now: UInt64) async throws -> AuthenticationOutcome<AuthenticatedIdentity>?
}

extension RequestAuthenticator {
    public var challenge: (name: String, value: String)? { nil }
}
