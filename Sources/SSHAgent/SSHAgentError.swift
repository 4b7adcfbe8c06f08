import SSHKeys

/// The one error type of `SSHAgent`. Equality is by ``code``.
public struct SSHAgentError: CodedError {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Backing: Hashable, Sendable { case noAgent, refused, timeout, protocolError, noMatchingKey }
        private let backing: Backing
        private init(_ backing: Backing) { self.backing = backing }
        /// No agent: `SSH_AUTH_SOCK` unset, or nothing listening on it.
        public static let noAgent = Code(.noAgent)
        /// The agent answered FAILURE (unknown key, locked agent, confirmation denied).
        public static let refused = Code(.refused)
        /// The agent did not answer before the deadline.
        public static let timeout = Code(.timeout)
        /// The agent's reply was malformed or unexpected.
        public static let protocolError = Code(.protocolError)
        /// The agent holds no key that fits the request.
        public static let noMatchingKey = Code(.noMatchingKey)
        public var description: String { String(describing: self.backing) }
    }

    public let code: Code
    /// What happened and what to do about it; never key material.
    public let message: String

    init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
}
