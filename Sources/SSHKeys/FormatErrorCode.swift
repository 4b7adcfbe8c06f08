/// The codes of an error about input that cannot be read, shared by the modules whose errors
/// have no others (`JWTError`, `SignatureSchemeError`): one set, documented once.
public struct FormatErrorCode: Hashable, Sendable, CustomStringConvertible {
    private enum Backing: Hashable, Sendable {
        case malformed, truncated, trailingBytes, tooLarge, unsupported, invalidConfiguration
    }
    private let backing: Backing
    private init(_ backing: Backing) { self.backing = backing }
    /// The input does not have the structure its format requires.
    public static let malformed = FormatErrorCode(.malformed)
    /// The input ends before a value is complete.
    public static let truncated = FormatErrorCode(.truncated)
    /// Bytes follow the end of the value.
    public static let trailingBytes = FormatErrorCode(.trailingBytes)
    /// The input or a part of it exceeds a named limit.
    public static let tooLarge = FormatErrorCode(.tooLarge)
    /// An algorithm, parameter or extension this side does not accept.
    public static let unsupported = FormatErrorCode(.unsupported)
    /// A key or setting that cannot be used for this (a key type that cannot sign here).
    public static let invalidConfiguration = FormatErrorCode(.invalidConfiguration)
    public var description: String { String(describing: self.backing) }
}
