import AuthCore
import SSHKeys

/// The one error type of `CRTAuthJWT`: a token, JSON document or JWKS that cannot be read, or a
/// key that cannot sign. Expected authentication failures (a wrong signature, an expired or
/// replayed token, an unknown user) are not errors but ``AuthenticationFailure`` reasons;
/// failing stores throw `AuthCoreError`.
///
/// Equality is by ``code``. Messages never contain tokens, signatures or secrets.
public struct JWTError: CodedError, MalformedCredential {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Backing: Hashable, Sendable {
            case malformed, truncated, trailingBytes, tooLarge, unsupported, invalidConfiguration
        }
        private let backing: Backing
        private init(_ backing: Backing) { self.backing = backing }
        /// The token or document does not have the structure JWT, JSON or JWKS requires.
        public static let malformed = Code(.malformed)
        /// The JSON ends before a value is complete.
        public static let truncated = Code(.truncated)
        /// Bytes follow the JSON value.
        public static let trailingBytes = Code(.trailingBytes)
        /// The token, document or a part of it exceeds a named limit.
        public static let tooLarge = Code(.tooLarge)
        /// An algorithm or header extension this side does not accept (`none`, HMAC, `crit`).
        public static let unsupported = Code(.unsupported)
        /// A key that cannot sign JWTs.
        public static let invalidConfiguration = Code(.invalidConfiguration)
        public var description: String { String(describing: self.backing) }
    }

    public let code: Code
    /// What was wrong; never a credential.
    public let message: String

    package init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
}
