import AuthCore
import SSHKeys

/// The one error type of `CRTAuthSignatures`: RFC 9421 or serveradmin headers that cannot be
/// read, or a key that cannot sign. Expected authentication failures (a wrong signature, an
/// expired or replayed one, an unknown key) are not errors but ``AuthenticationFailure``
/// reasons; failing stores throw `AuthCoreError`.
///
/// Equality is by ``code``. Messages never contain signatures or secrets.
public struct SignatureSchemeError: CodedError, MalformedCredential {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Backing: Hashable, Sendable {
            case malformed, tooLarge, unsupported, invalidConfiguration
        }
        private let backing: Backing
        private init(_ backing: Backing) { self.backing = backing }
        /// A header does not have the structure its scheme requires.
        public static let malformed = Code(.malformed)
        /// A header or a list in it exceeds a named limit.
        public static let tooLarge = Code(.tooLarge)
        /// An algorithm, digest or component parameter this side does not accept.
        public static let unsupported = Code(.unsupported)
        /// A key that cannot make signatures of this scheme.
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
