import AuthCore
import SSHKeys

/// The one error type of `CRTAuthSignatures`: RFC 9421 or serveradmin headers that cannot be
/// read, or a key that cannot sign. Expected authentication failures (a wrong signature, an
/// expired or replayed one, an unknown key) are not errors but ``AuthenticationFailure``
/// reasons; failing stores throw `AuthCoreError`.
///
/// Equality is by ``code``. Messages never contain signatures or secrets.
public struct SignatureSchemeError: CodedError, MalformedCredential {
    public typealias Code = FormatErrorCode
    public let code: Code
    /// What was wrong; never a credential.
    public let message: String

    package init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
}
