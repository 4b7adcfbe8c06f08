import SSHKeys

/// Magic bytes of the message kinds.
enum Magic {
    static let request = UInt8(ascii: "q")
    static let challenge = UInt8(ascii: "c")
    static let response = UInt8(ascii: "r")
    static let token = UInt8(ascii: "t")
    static let verifiable = UInt8(ascii: "v")
}

/// base64url-decodes a message, enforcing the size limit.
func decodeMessage(_ text: String, what: String) throws -> [UInt8] {
    try withDecodedMessage(text, what: what) { Array($0) }
}

/// base64url-decodes a message into scratch space, enforcing the size limit, and hands it to
/// `body` (no array is made).
func withDecodedMessage<Result>(_ text: String, what: String, _ body: (UnsafeRawBufferPointer) throws -> Result) throws -> Result {
    guard !text.isEmpty else { throw CRTAuthError(.truncated, "the \(what) is empty") }
    guard text.utf8.count <= CRTAuthLimits.maximumEncodedLength else {
        throw CRTAuthError(.tooLarge, "the \(what) is longer than \(CRTAuthLimits.maximumEncodedLength) characters")
    }
    var text = text
    guard let result = try text.withUTF8({ try Base64URL.withDecoded(utf8: $0, body) }) else {
        throw CRTAuthError(.malformed, "the \(what) is not base64url")
    }
    return result
}
