import AuthCore

/// Named limits of the crtauth wire format.
public enum CRTAuthLimits {
    /// Longest username (Python's `create_challenge` refuses more than 64): the core's rule.
    public static let maximumUsernameLength = UsernameRule.maximumLength
    /// Longest server name (Python's `AuthServer` refuses more than 255).
    public static let maximumServerNameLength = 255
    /// Longest base64url message we decode: a v2 response with a certificate and a 16384-bit
    /// RSA signature fits in well under this.
    public static let maximumEncodedLength = 64 * 1024
    /// Longest RSA signature (16384-bit modulus).
    public static let maximumSignatureLength = 2048
    /// Size of a challenge's random `unique_data`.
    public static let uniqueDataLength = 20
    /// Size of the key fingerprint in v0/v1 challenges.
    public static let fingerprintLength = 6
}
