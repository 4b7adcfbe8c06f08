/// The one rule for usernames, applied by every key store and every scheme: 1 to
/// ``CRTAuthLimits/maximumUsernameLength`` bytes of UTF-8 (crtauth's limit: Python's server
/// refuses longer names, so a longer user could never finish a handshake), with no whitespace
/// and no control characters (they would break `authorized_keys`-style listings and logs).
public enum UsernameRule {
    /// What a refused username is told.
    public static let requirement = "usernames are 1 to \(CRTAuthLimits.maximumUsernameLength) bytes without spaces or control characters"

    public static func isValid(_ username: String) -> Bool {
        !username.isEmpty && username.utf8.count <= CRTAuthLimits.maximumUsernameLength
            && username.unicodeScalars.allSatisfy { !$0.properties.isWhitespace && $0.value >= 0x20 && $0.value != 0x7F }
    }
}
