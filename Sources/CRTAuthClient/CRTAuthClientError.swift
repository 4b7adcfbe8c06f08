import SSHKeys

/// Why a crtauth client request failed; each message names the fix.
public struct CRTAuthClientError: CodedError {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Backing: Hashable, Sendable {
            case noAgent, noUsableKey, keyNotLoaded, serverNameMismatch, notCrtauth, authenticationFailed, network, timeout, invalidURL, tooLarge, tokenCache
        }
        private let backing: Backing
        private init(_ backing: Backing) { self.backing = backing }
        /// `SSH_AUTH_SOCK` unset, or no agent behind it.
        public static let noAgent = Code(.noAgent)
        /// The agent or key file holds no key usable for crtauth.
        public static let noUsableKey = Code(.noUsableKey)
        /// The server expects a key that is not loaded (or not registered).
        public static let keyNotLoaded = Code(.keyNotLoaded)
        /// The challenge names another server (possible man in the middle).
        public static let serverNameMismatch = Code(.serverNameMismatch)
        /// The server does not answer the crtauth handshake.
        public static let notCrtauth = Code(.notCrtauth)
        /// The server refused the user, key or signature (or the clocks differ too much).
        public static let authenticationFailed = Code(.authenticationFailed)
        /// The server could not be reached.
        public static let network = Code(.network)
        /// The server did not answer in time.
        public static let timeout = Code(.timeout)
        public static let invalidURL = Code(.invalidURL)
        /// An answer larger than the client reads.
        public static let tooLarge = Code(.tooLarge)
        /// The token cache cannot be written.
        public static let tokenCache = Code(.tokenCache)
        public var description: String { String(describing: self.backing) }
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
}
