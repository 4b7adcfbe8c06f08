/// The ways a request can be authenticated, as servers are configured to accept them and
/// clients choose them (`--schemes`, `--scheme`). An admitted request's ``IdentityScheme``
/// says more: which crtauth version a handshake spoke.
public enum AuthenticationScheme: String, Sendable, CaseIterable, Hashable {
    /// crtauth's challenge-response handshake and `Authorization: chap:<token>`.
    case chap
    /// asymmetric_jwt_auth's `Authorization: JWT <jws>`, a new one per request.
    case jwt
    /// RFC 9421 HTTP Message Signatures (`Signature-Input` / `Signature`, `Content-Digest` with a body).
    case signature
    /// serveradmin's `X-Timestamp` / `X-PublicKeys` / `X-Signatures`.
    case serveradmin
}
