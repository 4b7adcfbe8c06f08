/// The `Authorization: chap:<token>` header of requests carrying a crtauth token, and crtauth's
/// `method:payload` header values (`X-CHAP`). Parsed on the UTF-8 bytes: this runs on every request.
public enum ChapAuthorization {
    /// Longest header value read: the longest message plus its prefix.
    public static let maximumLength = CRTAuthLimits.maximumEncodedLength + 16

    /// The token of a `chap:<token>` value (scheme name case-insensitive, blanks around the
    /// token ignored), else nil.
    public static func token(in value: String) -> Substring? {
        guard let (scheme, token) = self.split(value), scheme.count == 4, zip(scheme, "chap".utf8).allSatisfy({ $0 | 0x20 == $1 }) else { return nil }
        return Substring(token)
    }

    /// `method:payload` split at the first colon, blanks around each part removed; nil when too
    /// long or without a colon.
    public static func split(_ value: String) -> (method: Substring.UTF8View, payload: Substring.UTF8View)? {
        let utf8 = Substring(value).utf8
        guard utf8.count <= self.maximumLength, let colon = utf8.firstIndex(of: UInt8(ascii: ":")) else { return nil }
        return (self.trimmingBlanks(utf8[..<colon]), self.trimmingBlanks(utf8[utf8.index(after: colon)...]))
    }

    static func trimmingBlanks(_ bytes: Substring.UTF8View) -> Substring.UTF8View {
        let isBlank = { (byte: UInt8) in byte == 0x20 || byte == 0x09 }
        guard let first = bytes.firstIndex(where: { !isBlank($0) }), let last = bytes.lastIndex(where: { !isBlank($0) }) else { return bytes[bytes.endIndex...] }
        return bytes[first...last]
    }
}
