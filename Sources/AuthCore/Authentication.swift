import SSHKeys

/// Why an authentication attempt failed. These are expected outcomes, not errors: the server
/// logs the reason and answers with a fixed short body.
public struct AuthenticationFailure: Hashable, Sendable, CustomStringConvertible {
    public struct Reason: Hashable, Sendable, CustomStringConvertible {
        private enum Backing: Hashable, Sendable {
            case badMAC, wrongServer, expired, notYetValid, lifetimeTooLong, badSignature, refused, unknownUser, keyExpired, replayed, malformed
        }
        private let backing: Backing
        private init(_ backing: Backing) { self.backing = backing }
        /// The HMAC does not verify with any configured secret (forged or another cluster's).
        public static let badMAC = Reason(.badMAC)
        /// The challenge was issued for another server name.
        public static let wrongServer = Reason(.wrongServer)
        /// Past its `valid_to`.
        public static let expired = Reason(.expired)
        /// Before its `valid_from` (clock skew between servers).
        public static let notYetValid = Reason(.notYetValid)
        /// A token spanning more than 600 s.
        public static let lifetimeTooLong = Reason(.lifetimeTooLong)
        /// The signature does not verify with the user's key (or the user is unknown: the two
        /// are reported alike to the client).
        public static let badSignature = Reason(.badSignature)
        /// The key provider refused the user.
        public static let refused = Reason(.refused)
        /// The user does not exist (for the log only; clients see ``badSignature``).
        public static let unknownUser = Reason(.unknownUser)
        /// The key's `expiry-time` has passed.
        public static let keyExpired = Reason(.keyExpired)
        /// The credential was used before (per-request schemes, through a ``NonceStore``).
        public static let replayed = Reason(.replayed)
        /// A credential that does not parse, refused like a wrong one (a crtauth token: the
        /// client handshakes again).
        public static let malformed = Reason(.malformed)
        public var description: String { String(describing: self.backing) }
    }

    public let reason: Reason
    /// The username the attempt was for, when known (for the audit log).
    public let username: String?
    /// What exactly was wrong (for the audit log; never sent to the client, never a credential).
    public let detail: String?

    public init(reason: Reason, username: String?, detail: String? = nil) {
        self.reason = reason
        self.username = username
        self.detail = detail
    }
    public var description: String { "\(self.reason)" + (self.username.map { " (user \($0))" } ?? "") }
}

/// Who authenticated, with which key, by which scheme.
public struct AuthenticatedIdentity: Hashable, Sendable {
    public let username: String
    /// The key that signed (the certified key, for a certificate). `nil` for a crtauth token:
    /// tokens, as Python and Java define them, name only the user.
    public let key: SSHPublicKey?
    /// A handshake of a crtauth version, a request with a crtauth token (`chap`), or a per-request scheme.
    public let scheme: IdentityScheme

    public init(username: String, key: SSHPublicKey?, scheme: IdentityScheme) {
        self.username = username
        self.key = key
        self.scheme = scheme
    }

    /// `SHA256:` fingerprint of ``key``, as `ssh-keygen -l` prints it (computed when asked:
    /// formatting it costs more than the rest of a token check).
    public var keyFingerprint: String? { self.key?.sha256Fingerprint }
}

/// The result of a server operation that may fail for expected reasons.
public enum AuthenticationOutcome<Success: Sendable>: Sendable {
    case success(Success)
    case failure(AuthenticationFailure)
}
