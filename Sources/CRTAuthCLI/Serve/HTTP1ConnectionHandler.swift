import CRTAuthHummingbird
import NIOCore
import NIOHTTP1

/// Per HTTP/1.1 connection, right after NIO's request decoder, where every request and every
/// answer passes (those of the router and of ``GatewayFastPath`` alike):
/// - answers leave in their wire form (``HTTP1AnswerEncoder``); the fast path's whole answers
///   as one buffer (``answer(status:fields:body:)``);
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
final class HTTP1ConnectionHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = IOData

    private let headTimeout: TimeAmount
    private let idleTimeout: TimeAmount
    private var encoder = HTTP1AnswerEncoder()
    private var context: ChannelHandlerContext?
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
        self.context = context
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
            self.encoder.requestRead(head.method)
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
        self.send(self.unwrapOutboundIn(data), dropping: nil, context: context, promise: promise)
    }

    /// A part of an upstream's answer to the oldest request under way, the head's fields less
    /// those `dropped`: as if written down the pipeline, without the trip (``ProxiedRequest``).
    /// The caller flushes.
    func passBack(_ part: HTTPServerResponsePart, dropping dropped: ReverseProxy.AnswerFieldsDropped?) {
        guard let context = self.context else { return }
        self.send(part, dropping: dropped, context: context, promise: nil)
    }

    private func send(_ part: HTTPServerResponsePart, dropping dropped: ReverseProxy.AnswerFieldsDropped?, context: ChannelHandlerContext,
                      promise: EventLoopPromise<Void>?) {
        self.encoder.write(part, dropping: dropped, to: context, promise: promise)
        switch part {
        case .head(let head) where head.status.code >= 200: self.responding = true
        case .end: if self.answerEnded(context) { self.flushAndClose(context) }
        default: break
        }
    }

    /// A whole answer to the oldest request under way, with a body of known length, written as
    /// one buffer and flushed: how ``GatewayFastPath`` answers.
    func answer(status: HTTPResponseStatus, fields: [(name: String, value: String)], body: String?) {
        guard let context = self.context else { return }
        let bytes = self.encoder.whole(status: status, fields: fields, body: body, allocator: context.channel.allocator)
        context.write(self.wrapOutboundOut(.byteBuffer(bytes)), promise: nil)
        if self.answerEnded(context) { self.flushAndClose(context) } else { context.flush() }
    }

    /// An answer has ended: whether the connection is to close once it is out.
    private func answerEnded(_ context: ChannelHandlerContext) -> Bool {
        self.responding = false
        self.awaitingHead = true
        self.open = max(self.open - 1, 0)
        guard self.open == 0 else { return false }
        if self.closeWhenAnswered { return true }
        self.idleSince = .now()
        self.schedule(context)
        return false
    }

    private func flushAndClose(_ context: ChannelHandlerContext) {
        let channel = context.channel
        context.writeAndFlush(self.wrapOutboundOut(.byteBuffer(ByteBuffer()))).whenComplete { _ in channel.close(promise: nil) }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is ChannelShouldQuiesceEvent else { return context.fireUserInboundEventTriggered(event) }
        if self.open == 0 { context.close(promise: nil) } else { self.closeWhenAnswered = true }
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.cancelTimer()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        self.cancelTimer()
    }

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

    /// An answer of the connection's own (to no request handed on), then the close.
    private func answerAndClose(_ context: ChannelHandlerContext, status: HTTPResponseStatus) {
        self.cancelTimer()
        let bytes = self.encoder.whole(status: status, fields: [("connection", "close")], body: nil, toRequest: false, allocator: context.channel.allocator)
        let channel = context.channel
        context.writeAndFlush(self.wrapOutboundOut(.byteBuffer(bytes))).whenComplete { _ in channel.close(promise: nil) }
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
