/// Any crtauth message, decoded without verifying anything (for inspection and debugging).
public enum CRTAuthMessage: Hashable, Sendable {
    case request(CRTAuthRequest)
    case challenge(CRTAuthChallenge)
    case response(CRTAuthResponse)
    case token(CRTAuthToken)

    /// Decodes a base64url request, challenge, response or token of any version, by its first
    /// bytes. Nothing is verified: MACs and signatures are not checked.
    public static func decodeUnverified(_ text: String) throws -> CRTAuthMessage {
        let bytes = try decodeMessage(text, what: "message")
        guard bytes.count >= 2 else { throw CRTAuthError(.truncated, "the message is too short to be a crtauth message") }
        switch (bytes[0], bytes[1]) {
        case (Magic.verifiable, _):
            // v0 challenge or token: the inner payload's magic tells which.
            if bytes.count > 28, bytes[28] == Magic.token { return .token(try CRTAuthToken(bytes: bytes)) }
            return .challenge(try CRTAuthChallenge(bytes: bytes))
        case (Magic.response, _): return .response(try CRTAuthResponse(decoding: text))
        case (1, Magic.token): return .token(try CRTAuthToken(bytes: bytes))
        case (1, Magic.request), (2, Magic.request): return .request(try CRTAuthRequest(decoding: text))
        case (1, Magic.challenge), (2, Magic.challenge): return .challenge(try CRTAuthChallenge(bytes: bytes))
        case (1, Magic.response), (2, Magic.response): return .response(try CRTAuthResponse(decoding: text))
        default:
            throw CRTAuthError(.malformed, "not a crtauth message (first bytes \(String(bytes[0], radix: 16)) \(String(bytes[1], radix: 16)))")
        }
    }
}
