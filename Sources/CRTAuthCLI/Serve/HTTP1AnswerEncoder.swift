import CRTAuthHummingbird
import NIOCore
import NIOHTTP1

/// The wire form of one HTTP/1.1 connection's answers (RFC 9112), kept by
/// ``HTTP1ConnectionHandler``: the status line and fields, the body framed by `Content-Length`,
/// by chunks, or (HTTP/1.0) by the connection's close, and no body at all where the request or
/// the status allows none (HEAD, CONNECT, 1xx, 204, 304), whatever the writer sends.
///
/// Written here instead of using NIO's `HTTPResponseEncoder` so that the gateway's fast path can
/// send a whole answer as one buffer in one write: through NIO's encoder an answer is three
/// writes, each passed down the pipeline and encoded on its own, which was a quarter of what
/// `/whoami` cost; and NIO's encoder, told of every request by its decoder so as to answer HEAD
/// without a body, would miscount answers that did not pass through it.
struct HTTP1AnswerEncoder {
    /// How the body of the answer under way goes out.
    private enum Framing {
        /// As it comes: the answer says its length, or (HTTP/1.0) the connection's close ends it.
        case asIs
        case chunked
        /// Dropped: the answer has no body.
        case none
    }

    /// The methods of requests read whose answer has not begun, oldest first.
    private var methods = CircularBuffer<HTTPMethod>(initialCapacity: 2)
    private var framing = Framing.asIs

    /// A request head was read; its answer will come in turn.
    mutating func requestRead(_ method: HTTPMethod) { self.methods.append(method) }

    /// Writes `part` to `context` in its wire form (the promise completes with its last piece);
    /// a head's fields less those `dropped`.
    mutating func write(_ part: HTTPServerResponsePart, dropping dropped: ReverseProxy.AnswerFieldsDropped? = nil, to context: ChannelHandlerContext,
                        promise: EventLoopPromise<Void>?) {
        switch part {
        case .head(let head):
            context.write(NIOAny(IOData.byteBuffer(self.encode(head, dropping: dropped, allocator: context.channel.allocator))), promise: promise)
        case .body(let data):
            switch self.framing {
            case .none:
                promise?.succeed()
            case .asIs:
                context.write(NIOAny(data), promise: promise)
            case .chunked:
                guard data.readableBytes > 0 else {
                    promise?.succeed()
                    return
                }
                var size = context.channel.allocator.buffer(capacity: 18)
                size.writeString(String(data.readableBytes, radix: 16))
                size.writeStaticString("\r\n")
                context.write(NIOAny(IOData.byteBuffer(size)), promise: nil)
                context.write(NIOAny(data), promise: nil)
                context.write(NIOAny(IOData.byteBuffer(Self.lineEnd)), promise: promise)
            }
        case .end(let trailers):
            if case .chunked = self.framing {
                var last = context.channel.allocator.buffer(capacity: 64)
                last.writeStaticString("0\r\n")
                for (name, value) in trailers ?? [:] { last.writeHTTPField(name, value) }
                last.writeStaticString("\r\n")
                context.write(NIOAny(IOData.byteBuffer(last)), promise: promise)
            } else if let promise {
                context.write(NIOAny(IOData.byteBuffer(ByteBuffer())), promise: promise)
            }
            self.framing = .asIs
        }
    }

    /// A whole answer with a body of known length, as one buffer: the answer to the oldest
    /// request read, or (`toRequest` false) one of the connection's own, to no request.
    mutating func whole(status: HTTPResponseStatus, fields: [(name: String, value: String)], body: String?, toRequest: Bool = true,
                        allocator: ByteBufferAllocator) -> ByteBuffer {
        if toRequest { _ = self.methods.popFirst() }
        let length = body?.utf8.count ?? 0
        var buffer = allocator.buffer(capacity: 64 + 64 * fields.count + length)
        Self.writeStatusLine(.http1_1, status, to: &buffer)
        for (name, value) in fields { buffer.writeHTTPField(name, value) }
        buffer.writeStaticString("Content-Length: ")
        buffer.writeString(String(length))
        buffer.writeStaticString("\r\n\r\n")
        if let body { buffer.writeString(body) }
        return buffer
    }

    /// The head's wire form; sets how its body goes out (RFC 9112 §6.1–6.3).
    private mutating func encode(_ head: HTTPResponseHead, dropping dropped: ReverseProxy.AnswerFieldsDropped?, allocator: ByteBufferAllocator) -> ByteBuffer {
        let code = head.status.code
        let interim = code >= 100 && code < 200 && code != 101
        // An interim answer comes before the final one to the same request.
        let method = interim ? nil : self.methods.popFirst()
        let bodiless = code < 200 || code == 204 || code == 304 || method == .CONNECT
        let hasLength = !bodiless && head.headers.contains(name: "content-length")
        // Chunks from HTTP/1.1 on; before, a body without a length ends with the connection.
        let chunks = !bodiless && !hasLength && (head.version.major, head.version.minor) >= (1, 1)
        if bodiless {
            self.framing = .none
        } else if !chunks {
            self.framing = method == .HEAD ? .none : .asIs
        } else {
            self.framing = method == .HEAD ? .none : .chunked
        }
        var buffer = allocator.buffer(capacity: 64 + 48 * head.headers.count)
        Self.writeStatusLine(head.version, head.status, to: &buffer)
        for (name, value) in head.headers {
            // The framing fields are this encoder's: kept only where they tell the truth.
            switch name.utf8.count {
            case 14 where name.isASCIICaseInsensitiveEqual(to: "content-length"): if bodiless { continue }
            case 17 where name.isASCIICaseInsensitiveEqual(to: "transfer-encoding"): continue
            default: if dropped?.contains(name) == true { continue }
            }
            buffer.writeHTTPField(name, value)
        }
        if chunks { buffer.writeStaticString("Transfer-Encoding: chunked\r\n") }
        buffer.writeStaticString("\r\n")
        return buffer
    }

    private static let lineEnd = ByteBuffer(staticString: "\r\n")

    private static func writeStatusLine(_ version: HTTPVersion, _ status: HTTPResponseStatus, to buffer: inout ByteBuffer) {
        if version == .http1_1 {
            buffer.writeStaticString("HTTP/1.1 ")
        } else {
            buffer.writeString("HTTP/\(version.major).\(version.minor) ")
        }
        buffer.writeString(String(status.code))
        buffer.writeInteger(UInt8(ascii: " "))
        buffer.writeString(status.reasonPhrase)
        buffer.writeStaticString("\r\n")
    }
}
