import AuthCore
import SSHKeys

/// The one error type of `CRTAuth`: malformed messages and operational faults. Expected
/// authentication failures are not errors but ``AuthenticationFailure`` reasons.
///
/// Equality is by ``code``. Messages never contain tokens, challenges, signatures or secrets.
public struct CRTAuthError: CodedError, MalformedCredential {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Backing: Hashable, Sendable {
            case malformed, truncated, trailingBytes, tooLarge, unsupportedVersion, wrongMessageType
            case invalidConfiguration, noMatchingKey, serverNameMismatch
        }
        private let backing: Backing
        private init(_ backing: Backing) { self.backing = backing }
        /// The message does not have the structure its type requires.
        public static let malformed = Code(.malformed)
        /// The message ends before a field is complete.
        public static let truncated = Code(.truncated)
        /// Bytes follow the end of the message.
        public static let trailingBytes = Code(.trailingBytes)
        /// The message or a field exceeds a named limit.
        public static let tooLarge = Code(.tooLarge)
        /// A protocol version this side does not speak (or has been configured to refuse).
        public static let unsupportedVersion = Code(.unsupportedVersion)
        /// A message of another kind (a token where a response was expected, say).
        public static let wrongMessageType = Code(.wrongMessageType)
        /// A server or client configured with values the protocol cannot carry.
        public static let invalidConfiguration = Code(.invalidConfiguration)
        /// The client holds no key the challenge asks for.
        public static let noMatchingKey = Code(.noMatchingKey)
        /// The challenge names another server: a possible man-in-the-middle.
        public static let serverNameMismatch = Code(.serverNameMismatch)
        public var description: String { String(describing: self.backing) }
    }

    public let code: Code
    /// What was wrong and what to do; never a credential.
    public let message: String

    package init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
}
