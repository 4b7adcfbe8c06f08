import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import Synchronization

/// Per HTTP/1.1 connection: the request head must be complete within `timeout` of the
/// connection opening or of the first byte of a later request (so a client dribbling a byte a
/// second is closed as surely as one that sends nothing). A head the parser refuses while no
/// request is being answered is answered here and the connection closed — 431 (RFC 6585) for
/// one over the decoder's size limits, 400 for anything else. Sits right after the HTTP
/// decoder, which passes on every read's completion even when it has no whole head to pass yet;
/// that is how arriving bytes are seen.
final class RequestHeadGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let timeout: TimeAmount
    private var deadline: Scheduled<Void>?
    private var awaitingHead = true
    /// A response head went out and its end has not.
    private var responding = false

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
        switch self.unwrapOutboundIn(data) {
        case .head(let head) where head.status.code >= 200: self.responding = true
        case .end:
            self.responding = false
            self.awaitingHead = true
        default: break
        }
        context.write(data, promise: promise)
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.disarm()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) { self.disarm() }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // With a request in hand the error is Hummingbird's, to answer in its turn.
        guard let parserError = error as? HTTPParserError, self.awaitingHead, !self.responding else {
            context.fireErrorCaught(error)
            return
        }
        self.disarm()
        let status: HTTPResponseStatus = parserError == .headerOverflow ? .custom(code: 431, reasonPhrase: "Request Header Fields Too Large") : .badRequest
        let head = HTTPResponseHead(version: .http1_1, status: status, headers: ["connection": "close", "content-length": "0"])
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

/// How many connections are open at once; past the limit a new one is closed at once, before
/// any byte of it is read (so before a TLS handshake), whatever it would have spoken.
final class ConnectionLimit: Sendable {
    let maximum: Int
    private let open = Atomic<Int>(0)

    init(maximum: Int) { self.maximum = maximum }

    /// Takes a place for a new connection; false when none is left.
    func admit() -> Bool {
        let now = self.open.wrappingAdd(1, ordering: .relaxed).newValue
        if now > self.maximum {
            self.open.wrappingSubtract(1, ordering: .relaxed)
            return false
        }
        return true
    }

    func release() { self.open.wrappingSubtract(1, ordering: .relaxed) }
}

/// A server's connections, counted by a ``ConnectionLimit``: each takes a place when it is set
/// up and gives it back when it closes; one past the limit is set up as usual (Hummingbird
/// stops accepting altogether if a setup fails) and closed at once.
struct ConnectionLimitedChannel<Base: ServerChildChannel>: ServerChildChannel {
    let base: Base
    let limit: ConnectionLimit

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Base.Value> {
        let admitted = self.limit.admit()
        if admitted {
            let limit = self.limit
            channel.closeFuture.whenComplete { _ in limit.release() }
        }
        let value = self.base.setup(channel: channel, logger: logger)
        return admitted ? value : value.always { _ in channel.close(promise: nil) }
    }

    func handle(value: Base.Value, logger: Logger) async {
        await self.base.handle(value: value, logger: logger)
    }
}
