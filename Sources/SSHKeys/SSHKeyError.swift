/// The one error type of `SSHKeys`.
///
/// Equality is by ``code`` only, so callers can match on codes while messages stay free to
/// improve. Messages never contain key material, signatures or passphrases.
public struct SSHKeyError: CodedError {
    /// What went wrong, as an extensible set of codes.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Backing: Hashable, Sendable {
            case truncated
            case trailingBytes
            case limitExceeded
            case invalidEncoding
            case unsupportedAlgorithm
            case keyTypeMismatch
            case invalidKey
            case weakKey
            case invalidSignature
            case algorithmNotAllowed
            case userPresenceRequired
            case unsupportedCipher
            case unsupportedKDF
            case passphraseRequired
            case wrongPassphrase
            case invalidCertificate
            case certificateNotValid
            case invalidPEM
            case invalidLine
            case namespaceMismatch
            case signingUnavailable
        }

        private let backing: Backing
        private init(_ backing: Backing) { self.backing = backing }

        /// The input ended before a field was complete.
        public static let truncated = Code(.truncated)
        /// Bytes followed the end of a message that must end there.
        public static let trailingBytes = Code(.trailingBytes)
        /// A field was longer or larger than a named limit allows.
        public static let limitExceeded = Code(.limitExceeded)
        /// A field did not have the form its format requires.
        public static let invalidEncoding = Code(.invalidEncoding)
        /// A key, signature, cipher or hash algorithm that is not supported.
        public static let unsupportedAlgorithm = Code(.unsupportedAlgorithm)
        /// A type label disagrees with the key or signature it labels.
        public static let keyTypeMismatch = Code(.keyTypeMismatch)
        /// A key whose numbers are not a valid key of its type.
        public static let invalidKey = Code(.invalidKey)
        /// A key too small to be accepted (RSA under 2048 bits).
        public static let weakKey = Code(.weakKey)
        /// A signature that does not verify.
        public static let invalidSignature = Code(.invalidSignature)
        /// A signature algorithm the verification policy refuses (legacy `ssh-rsa`, say).
        public static let algorithmNotAllowed = Code(.algorithmNotAllowed)
        /// A security-key signature without the user-presence flag.
        public static let userPresenceRequired = Code(.userPresenceRequired)
        /// A private key file encrypted with a cipher we do not implement.
        public static let unsupportedCipher = Code(.unsupportedCipher)
        /// A private key file with a key-derivation function we do not implement.
        public static let unsupportedKDF = Code(.unsupportedKDF)
        /// The private key is encrypted and no passphrase was given.
        public static let passphraseRequired = Code(.passphraseRequired)
        /// The passphrase does not decrypt the private key.
        public static let wrongPassphrase = Code(.wrongPassphrase)
        /// A certificate that is malformed or whose CA signature does not verify.
        public static let invalidCertificate = Code(.invalidCertificate)
        /// A well-formed certificate that is not acceptable now or for this use.
        public static let certificateNotValid = Code(.certificateNotValid)
        /// PEM armor that is missing or malformed.
        public static let invalidPEM = Code(.invalidPEM)
        /// An `authorized_keys` or `allowed_signers` line that cannot be parsed.
        public static let invalidLine = Code(.invalidLine)
        /// An SSHSIG signature made for another namespace.
        public static let namespaceMismatch = Code(.namespaceMismatch)
        /// The key cannot sign here (a FIDO key without its authenticator).
        public static let signingUnavailable = Code(.signingUnavailable)

        public var description: String { String(describing: self.backing) }
    }

    /// The error's code.
    public let code: Code
    /// A human-readable explanation; never contains secrets or key material.
    public let message: String

    package init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "SSHKeyError.\(self.code): \(self.message)" }
}

extension SSHKeyError {
    /// Renders an attacker-supplied label for an error message: truncated, non-printables escaped.
    package static func quoted(_ bytes: some Collection<UInt8>, limit: Int = 48) -> String {
        var out = "\""
        for byte in bytes.prefix(limit) {
            if byte >= 0x20 && byte < 0x7F && byte != 0x22 && byte != 0x5C {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                out += "\\x" + String(byte, radix: 16, uppercase: false).leftPadded(to: 2)
            }
        }
        if bytes.count > limit { out += "…" }
        return out + "\""
    }

    package static func quoted(_ string: some StringProtocol, limit: Int = 48) -> String {
        quoted(Array(string.utf8), limit: limit)
    }
}

extension String {
    package func leftPadded(to width: Int, with pad: Character = "0") -> String {
        self.count >= width ? self : String(repeating: pad, count: width - self.count) + self
    }
}
