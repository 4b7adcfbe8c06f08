/// The one rule for usernames, applied by every key store and every scheme: 1 to
/// ``maximumLength`` bytes of UTF-8 (crtauth's limit: Python's server
/// refuses longer names, so a longer user could never finish a handshake), with no whitespace
/// and no control characters (they would break `authorized_keys`-style listings and logs).
public enum UsernameRule {
    /// Longest username in bytes (Python's `create_challenge` refuses more than 64).
    public static let maximumLength = 64
    /// What a refused username is told.
    public static let requirement = "usernames are 1 to \(maximumLength) bytes without spaces or control characters"

    public static func isValid(_ username: String) -> Bool {
        !username.isEmpty && username.utf8.count <= maximumLength
            && username.unicodeScalars.allSatisfy { !$0.properties.isWhitespace && $0.value >= 0x20 && $0.value != 0x7F }
    }
}
