import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import Synchronization

/// Per connection: the request head must be complete within `timeout` of the connection opening
/// or of the first byte of a later request (so a client dribbling a byte a second is closed as
/// surely as one that sends nothing), and a head over the decoder's size limits is answered 431
/// rather than 400. Sits after the HTTP decoder, which passes on every read's completion even
/// when it has no whole head to pass yet; that is how arriving bytes are seen.
final class RequestHeadGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let timeout: TimeAmount
    private var deadline: Scheduled<Void>?
    private var awaitingHead = true

    init(timeout: TimeAmount) { self.timeout = timeout }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { self.arm(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        if self.deadline == nil { self.arm(context) }
        context.fireChannelActive()
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if self.awaitingHead, self.deadline == nil { self.arm(context) }
        context.fireChannelReadComplete()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head = self.unwrapInboundIn(data) {
            self.awaitingHead = false
            self.disarm()
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = self.unwrapOutboundIn(data) { self.awaitingHead = true }
        context.write(data, promise: promise)
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.disarm()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) { self.disarm() }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parserError = error as? HTTPParserError, parserError == .headerOverflow else {
            context.fireErrorCaught(error)
            return
        }
        // A head over the limits: 431 (RFC 6585), and the connection closes.
        self.disarm()
        let head = HTTPResponse(status: .init(code: 431, reasonPhrase: "Request Header Fields Too Large"), headerFields: [.connection: "close", .contentLength: "0"])
        context.write(self.wrapOutboundOut(.head(head)), promise: nil)
        let channel = context.channel
        context.writeAndFlush(self.wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }

    private func arm(_ context: ChannelHandlerContext) {
        let channel = context.channel
        self.deadline = context.eventLoop.scheduleTask(in: self.timeout) { channel.close(promise: nil) }
    }

    private func disarm() {
        self.deadline?.cancel()
        self.deadline = nil
    }
}

/// How many connections are open at once; past the limit a new one is closed at once (an
/// HTTP/1 connection, plain or TLS; HTTP/2 streams are not connections and are not counted).
final class ConnectionLimit: Sendable {
    let maximum: Int
    private let open = Atomic<Int>(0)

    init(maximum: Int) { self.maximum = maximum }

    /// A handler for one new connection's pipeline.
    func handler() -> CountedConnection { CountedConnection(limit: self) }

    fileprivate func admit() -> Bool {
        let now = self.open.wrappingAdd(1, ordering: .relaxed).newValue
        if now > self.maximum {
            self.open.wrappingSubtract(1, ordering: .relaxed)
            return false
        }
        return true
    }

    fileprivate func release() { self.open.wrappingSubtract(1, ordering: .relaxed) }
}

/// One connection of a ``ConnectionLimit``: admitted when added, released when closed.
final class CountedConnection: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart

    private let limit: ConnectionLimit
    private var admitted = false

    fileprivate init(limit: ConnectionLimit) { self.limit = limit }

    func handlerAdded(context: ChannelHandlerContext) {
        // An HTTP/2 stream's parent is its connection, whose parent is the listener.
        guard context.channel.parent?.parent == nil else { return }
        if self.limit.admit() {
            self.admitted = true
        } else {
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.releaseOnce()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) { self.releaseOnce() }

    private func releaseOnce() {
        if self.admitted { self.limit.release() }
        self.admitted = false
    }
}
