import CRTAuthHummingbird
import NIOCore

extension ByteBuffer {
    /// `name: value` and its line end, as HTTP/1.1 sends a field (RFC 9112 §5). A control
    /// character other than tab in a value becomes a space, as HTTPTypes makes it on the
    /// router's side (names are the gateway's own or parsed).
    mutating func writeHTTPField(_ name: String, _ value: String) {
        self.writeString(name)
        self.writeStaticString(": ")
        if value.utf8.allSatisfy(Self.isFieldValueByte) {
            self.writeString(value)
        } else {
            self.writeBytes(value.utf8.lazy.map { Self.isFieldValueByte($0) ? $0 : UInt8(ascii: " ") })
        }
        self.writeStaticString("\r\n")
    }

    private static func isFieldValueByte(_ byte: UInt8) -> Bool { byte >= 0x20 && byte != 0x7F || byte == 0x09 }
}

/// A request's header fields written in their wire form as the proxy decides them.
struct HTTPFieldLines: UpstreamFieldSink {
    var buffer: ByteBuffer

    mutating func add(name: String, value: String) { self.buffer.writeHTTPField(name, value) }
}
