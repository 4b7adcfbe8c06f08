import SSHKeys

/// `X-CHAP: request:…` — who wants a challenge.
public struct CRTAuthRequest: Hashable, Sendable {
    public let version: CRTAuthVersion
    public let username: String

    public init(username: String, version: CRTAuthVersion = .v1) {
        self.username = username
        self.version = version
    }

    /// The text sent on the wire: the bare username for v0, base64url msgpack for v1 and v2.
    public var encoded: String {
        if self.version == .v0 { return self.username }
        var writer = MessagePackWriter()
        writer.writeUInt(UInt64(self.version.rawValue))
        writer.writeUInt(UInt64(Magic.request))
        writer.writeString(self.username)
        return Base64URL.encode(writer.bytes)
    }

    /// Classifies a request value as a server must (crtauth.md §5.1): a value that decodes to a
    /// v1/v2 request is one; anything else is a v0 bare username. Unlike Python, a 32–255-byte
    /// username in str16 form is read as the v1 request it is. Fields after the username are
    /// ignored (PROTOCOL.md's forward-compatibility rule).
    public static func classify(_ value: String) -> CRTAuthRequest {
        if value.utf8.count % 4 != 1, let bytes = Base64URL.decode(value), bytes.count >= 3,
           bytes[0] == 1 || bytes[0] == 2, bytes[1] == Magic.request {
            var reader = MessagePackReader(bytes[2...], what: "request")
            if let username = try? reader.readString("username", limit: 1024), !username.isEmpty {
                return CRTAuthRequest(username: username, version: bytes[0] == 1 ? .v1 : .v2)
            }
        }
        return CRTAuthRequest(username: value, version: .v0)
    }

    /// Parses a base64url v1/v2 request strictly (trailing fields allowed, as the spec says).
    /// An empty username makes no request: ``classify(_:)`` reads such a text as a v0 username.
    public init(decoding text: String) throws {
        let bytes = try decodeMessage(text, what: "request")
        var reader = MessagePackReader(bytes, what: "request")
        let version = try reader.readHeader(Magic.request, "request", versions: .v1 ... .v2)
        self.username = try reader.readString("username", limit: 1024)
        guard !self.username.isEmpty else { throw CRTAuthError(.malformed, "the request's username is empty") }
        self.version = version
    }
}
