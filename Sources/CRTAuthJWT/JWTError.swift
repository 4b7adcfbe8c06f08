import AuthCore
import SSHKeys

/// The one error type of `CRTAuthJWT`: a token, JSON document or JWKS that cannot be read, or a
/// key that cannot sign. Expected authentication failures (a wrong signature, an expired or
/// replayed token, an unknown user) are not errors but ``AuthenticationFailure`` reasons;
/// failing stores throw `AuthCoreError`.
///
/// Equality is by ``code``. Messages never contain tokens, signatures or secrets.
public struct JWTError: CodedError, MalformedCredential {
    public typealias Code = FormatErrorCode
    public let code: Code
    /// What was wrong; never a credential.
    public let message: String

    package init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
}
