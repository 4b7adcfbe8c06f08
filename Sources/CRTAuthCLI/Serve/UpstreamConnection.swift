import NIOCore
import NIOHTTP1

/// What an exchange on an ``UpstreamConnection`` is told, on the connection's event loop.
protocol UpstreamExchange: AnyObject {
    /// A part of the answer; after `.end` the exchange is over and nothing more is told.
    func upstreamPart(_ part: HTTPClientResponsePart)
    /// The end of one read from the socket: a moment to flush what was passed on.
    func upstreamReadComplete()
    /// The connection failed or closed before the answer's end.
    func upstreamFailed(_ error: any Error)
}

/// One keep-alive connection to the upstream (from ``UpstreamConnectionPool``), carrying one
/// exchange at a time. Used on its channel's event loop only.
///
/// Requests go out in their wire form, written by ``ProxiedRequest``; answers are read by NIO's
/// response decoder. NIO's request encoder is not in the pipeline (it would take each request
/// apart into header fields only to write them again), so the decoder is told of each request's
/// method by hand, as the encoder's write would have told it: it needs the method to know
/// whether an answer has a body.
final class UpstreamConnection: @unchecked Sendable {
    /// The connection closed with an exchange under way.
    struct Closed: Error {}

    let channel: any Channel
    /// Its event loop's idle connections, where it waits between exchanges.
    let home: UpstreamConnectionPool.IdleConnections
    private let reader: Reader
    /// The response decoder's place in the pipeline: requests are written from there, below it.
    private let decoderContext: ChannelHandlerContext
    /// Since when it has waited in the pool (nil while it carries an exchange).
    private var idleSince: NIODeadline?
    /// Closes it once idle long enough; left running while it is in use, and moved on when it
    /// fires, so an exchange schedules nothing.
    private var idleTimer: Scheduled<Void>?
    /// Whether the socket is read (paused while the client is slower).
    private var reading = true

    init(channel: any Channel, home: UpstreamConnectionPool.IdleConnections) throws {
        self.channel = channel
        self.home = home
        self.reader = try channel.pipeline.syncOperations.handler(type: Reader.self)
        self.decoderContext = try channel.pipeline.syncOperations.context(handlerType: ByteToMessageHandler<HTTPResponseDecoder>.self)
    }

    /// Sends a request without a body, `request` in its wire form and `method` its method; the
    /// answer goes to `exchange`.
    func send(_ request: ByteBuffer, method: HTTPMethod, to exchange: any UpstreamExchange) {
        self.reader.exchange = exchange
        self.reader.decoder.write(data: .head(Self.head(of: method)))
        self.decoderContext.writeAndFlush(NIOAny(request), promise: nil)
    }

    /// A head that tells the response decoder a request's method (nothing else of it is read).
    private static func head(of method: HTTPMethod) -> HTTPRequestHead {
        switch method {
        case .GET: Self.getHead
        case .DELETE: Self.deleteHead
        case .OPTIONS: Self.optionsHead
        default: HTTPRequestHead(version: .http1_1, method: method, uri: "/")
        }
    }

    private static let getHead = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/")
    private static let deleteHead = HTTPRequestHead(version: .http1_1, method: .DELETE, uri: "/")
    private static let optionsHead = HTTPRequestHead(version: .http1_1, method: .OPTIONS, uri: "/")

    /// Ends the exchange under way without its answer (a client gone, a timeout): the
    /// connection is closed, since the rest of the answer may still come.
    func abandon() {
        self.reader.exchange = nil
        self.channel.close(promise: nil)
    }

    /// Reads from the upstream stop and start again (the client is slower than the upstream).
    func setReading(_ reading: Bool) {
        guard reading != self.reading else { return }
        self.reading = reading
        self.channel.setOption(ChannelOptions.autoRead, value: reading).whenFailure { _ in }
    }

    /// Idle in the pool: closed after `timeout`, and taken out of it once closed, by either side.
    func wait(closingAfter timeout: TimeAmount) {
        self.reader.idleIn = self.home
        self.idleSince = .now()
        if self.idleTimer == nil { self.closeWhenIdle(for: timeout) }
        if !self.channel.isActive { self.reader.idleGone(self.channel) }
    }

    private func closeWhenIdle(for timeout: TimeAmount) {
        guard let since = self.idleSince else { return }
        self.idleTimer = self.channel.eventLoop.assumeIsolated().scheduleTask(deadline: since + timeout) { [self] in
            self.idleTimer = nil
            guard let since = self.idleSince else { return }
            if since + timeout <= .now() { self.channel.close(promise: nil) } else { self.closeWhenIdle(for: timeout) }
        }
    }

    /// Out of the pool for an exchange: whether it is still open.
    func leave() -> Bool {
        self.idleSince = nil
        self.reader.idleIn = nil
        return self.channel.isActive
    }

    /// Passes the answer's parts to the exchange under way. Bytes with none under way are a
    /// broken upstream: the connection is closed.
    final class Reader: ChannelInboundHandler {
        typealias InboundIn = HTTPClientResponsePart

        var exchange: (any UpstreamExchange)?
        /// The idle list it waits in, between exchanges.
        var idleIn: UpstreamConnectionPool.IdleConnections?
        /// The pipeline's response decoder.
        let decoder: HTTPResponseDecoder

        init(decoder: HTTPResponseDecoder) { self.decoder = decoder }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard let exchange = self.exchange else { return context.close(promise: nil) }
            let part = self.unwrapInboundIn(data)
            if case .end = part { self.exchange = nil }
            exchange.upstreamPart(part)
        }

        func channelReadComplete(context: ChannelHandlerContext) {
            self.exchange?.upstreamReadComplete()
        }

        func channelInactive(context: ChannelHandlerContext) {
            self.fail(Closed())
            self.idleGone(context.channel)
            context.fireChannelInactive()
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            self.fail(error)
            context.close(promise: nil)
        }

        /// Closed while idle: out of the idle list.
        func idleGone(_ channel: any Channel) {
            let list = self.idleIn
            self.idleIn = nil
            list?.remove(channel)
        }

        private func fail(_ error: any Error) {
            let exchange = self.exchange
            self.exchange = nil
            exchange?.upstreamFailed(error)
        }
    }
}
