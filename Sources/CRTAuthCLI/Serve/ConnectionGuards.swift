import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import Synchronization

/// Per HTTP/1.1 connection, right after NIO's decoder, where every request and every answer
/// passes (those of the router and of ``GatewayFastPath`` alike):
/// - the request head must be complete within `headTimeout` of the connection opening or of
///   the first bytes of a later request (so a client dribbling a byte a second is closed as
///   surely as one that sends nothing). The decoder passes on every read's completion even
///   when it has no whole head yet; a read that brought no head is how arriving bytes are seen;
/// - a connection with no request under way is closed after `idleTimeout`;
/// - asked to quiesce (graceful shutdown), a connection closes once its answers are out;
/// - a head the parser refuses while no request is being answered is answered here and the
///   connection closed — 431 (RFC 6585) for one over the decoder's size limits, 400 for
///   anything else; one arriving while a request is answered is the router's, in its turn.
/// One timer per connection, moved only when a deadline comes nearer, so a busy keep-alive
/// connection schedules nothing per request.
final class HTTP1ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let headTimeout: TimeAmount
    private let idleTimeout: TimeAmount
    /// Between requests: the next bytes start a head.
    private var awaitingHead = true
    /// A response head went out and its end has not.
    private var responding = false
    /// Heads read whose answer has not ended.
    private var open = 0
    /// Heads read during the read under way.
    private var headsThisRead = 0
    /// The head under way must be complete by then.
    private var headDeadline: NIODeadline?
    /// No request under way since then.
    private var idleSince: NIODeadline?
    private var closeWhenAnswered = false
    /// A head was refused here (``refuse(_:)``): the rest of the connection's input is dropped.
    private var refusing = false
    private var timer: Scheduled<Void>?
    private var timerDeadline: NIODeadline?

    init(headTimeout: TimeAmount, idleTimeout: TimeAmount) {
        self.headTimeout = headTimeout
        self.idleTimeout = idleTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { self.started(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        if self.idleSince == nil { self.started(context) }
        context.fireChannelActive()
    }

    private func started(_ context: ChannelHandlerContext) {
        let now = NIODeadline.now()
        self.headDeadline = now + self.headTimeout
        self.idleSince = now
        self.schedule(context)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if self.refusing { return }
        if case .head(let head) = self.unwrapInboundIn(data) {
            if head.version == .http1_1, !Self.hasOneHost(head.headers) { return self.refuse(context) }
            self.awaitingHead = false
            self.headDeadline = nil
            self.idleSince = nil
            self.open += 1
            self.headsThisRead += 1
        }
        context.fireChannelRead(data)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if self.awaitingHead, self.headsThisRead == 0, self.headDeadline == nil {
            self.headDeadline = .now() + self.headTimeout
            self.schedule(context)
        }
        self.headsThisRead = 0
        context.fireChannelReadComplete()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch self.unwrapOutboundIn(data) {
        case .head(let head) where head.status.code >= 200: self.responding = true
        case .end:
            self.responding = false
            self.awaitingHead = true
            self.open = max(self.open - 1, 0)
            if self.open == 0 {
                if self.closeWhenAnswered {
                    context.writeAndFlush(data, promise: promise)
                    return context.close(promise: nil)
                }
                self.idleSince = .now()
                self.schedule(context)
            }
        default: break
        }
        context.write(data, promise: promise)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is ChannelShouldQuiesceEvent else { return context.fireUserInboundEventTriggered(event) }
        if self.open == 0 { context.close(promise: nil) } else { self.closeWhenAnswered = true }
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.cancelTimer()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) { self.cancelTimer() }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // With a request in hand the error is the router's, to answer in its turn.
        guard let parserError = error as? HTTPParserError, self.awaitingHead, !self.responding else {
            context.fireErrorCaught(error)
            return
        }
        self.answerAndClose(context, status: parserError == .headerOverflow ? .custom(code: 431, reasonPhrase: "Request Header Fields Too Large") : .badRequest)
    }

    /// RFC 9112 §3.2: an HTTP/1.1 request has exactly one `Host` field (else a 400).
    static func hasOneHost(_ headers: HTTPHeaders) -> Bool {
        var count = 0
        for (name, _) in headers where name.utf8.count == 4 && name.isASCIICaseInsensitiveEqual(to: "host") { count += 1 }
        return count == 1
    }

    /// A head no handler may see: answered with a 400 now, or, behind answers still owed, by
    /// closing the connection once they have gone; nothing more is read either way.
    private func refuse(_ context: ChannelHandlerContext) {
        self.refusing = true
        guard self.open == 0, !self.responding else {
            self.closeWhenAnswered = true
            return
        }
        self.answerAndClose(context, status: .badRequest)
    }

    private func answerAndClose(_ context: ChannelHandlerContext, status: HTTPResponseStatus) {
        self.cancelTimer()
        let head = HTTPResponseHead(version: .http1_1, status: status, headers: ["connection": "close", "content-length": "0"])
        context.write(self.wrapOutboundOut(.head(head)), promise: nil)
        let channel = context.channel
        context.writeAndFlush(self.wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }

    /// The nearest deadline now in force: the head's, or the idle one while no request is open.
    private var nextDeadline: NIODeadline? {
        let idle = self.open == 0 ? self.idleSince.map { $0 + self.idleTimeout } : nil
        switch (self.headDeadline, idle) {
        case (let head?, let idle?): return min(head, idle)
        case (let head, let idle): return head ?? idle
        }
    }

    /// The timer runs for the nearest deadline; one that lies further off is left as it is and
    /// moved on when it fires.
    private func schedule(_ context: ChannelHandlerContext) {
        guard let deadline = self.nextDeadline else { return }
        if let current = self.timerDeadline, current <= deadline { return }
        self.timer?.cancel()
        self.timerDeadline = deadline
        self.timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            self.timer = nil
            self.timerDeadline = nil
            if let deadline = self.nextDeadline, deadline <= .now() { return context.close(promise: nil) }
            self.schedule(context)
        }
    }

    private func cancelTimer() {
        self.timer?.cancel()
        self.timer = nil
        self.timerDeadline = nil
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
