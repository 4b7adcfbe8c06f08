import SSHKeys

/// The one error type of `AuthCore`: what the stores beneath every scheme fail with. Expected
/// authentication failures are not errors but ``AuthenticationFailure`` reasons.
///
/// Equality is by ``code``. Messages never contain tokens, signatures, secrets or passwords.
public struct AuthCoreError: CodedError {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Backing: Hashable, Sendable {
            case keyProvider, nonceStore, invalidInput, invalidConfiguration
        }
        private let backing: Backing
        private init(_ backing: Backing) { self.backing = backing }
        /// The key store failed (I/O, database, directory): the request may succeed later (503).
        public static let keyProvider = Code(.keyProvider)
        /// The replay store failed or is full: credentials are refused until it recovers (503).
        public static let nonceStore = Code(.nonceStore)
        /// What was given to a store cannot be stored there (a username, a key type).
        public static let invalidInput = Code(.invalidInput)
        /// A store configured with values it cannot work with (a URL, an option, a missing library).
        public static let invalidConfiguration = Code(.invalidConfiguration)
        public var description: String { String(describing: self.backing) }
    }

    public let code: Code
    /// What was wrong and what to do; never a credential.
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
}
