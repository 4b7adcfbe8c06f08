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
final class UpstreamConnection: @unchecked Sendable {
    /// The connection closed with an exchange under way.
    struct Closed: Error {}

    let channel: any Channel
    private let reader: Reader
    /// Since when it has waited in the pool (nil while it carries an exchange).
    private var idleSince: NIODeadline?
    /// Closes it once idle long enough; left running while it is in use, and moved on when it
    /// fires, so an exchange schedules nothing.
    private var idleTimer: Scheduled<Void>?
    /// Whether the socket is read (paused while the client is slower).
    private var reading = true

    init(channel: any Channel) throws {
        self.channel = channel
        self.reader = try channel.pipeline.syncOperations.handler(type: Reader.self)
    }

    /// Sends a request without a body; the answer goes to `exchange`.
    func send(_ head: HTTPRequestHead, to exchange: any UpstreamExchange) {
        self.reader.exchange = exchange
        self.reader.whenIdleGone = nil
        self.channel.write(HTTPClientRequestPart.head(head), promise: nil)
        self.channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
    }

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

    /// Idle in the pool: closed after `timeout`; `gone` runs once it is closed, by either side.
    func wait(closingAfter timeout: TimeAmount, gone: @escaping () -> Void) {
        self.reader.whenIdleGone = gone
        self.idleSince = .now()
        if self.idleTimer == nil { self.closeWhenIdle(for: timeout) }
        if !self.channel.isActive { self.reader.idleGone() }
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
        self.reader.whenIdleGone = nil
        return self.channel.isActive
    }

    /// Passes the answer's parts to the exchange under way. Bytes with none under way are a
    /// broken upstream: the connection is closed.
    final class Reader: ChannelInboundHandler {
        typealias InboundIn = HTTPClientResponsePart

        var exchange: (any UpstreamExchange)?
        var whenIdleGone: (() -> Void)?

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
            self.idleGone()
            context.fireChannelInactive()
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            self.fail(error)
            context.close(promise: nil)
        }

        func idleGone() {
            let gone = self.whenIdleGone
            self.whenIdleGone = nil
            gone?()
        }

        private func fail(_ error: any Error) {
            let exchange = self.exchange
            self.exchange = nil
            exchange?.upstreamFailed(error)
        }
    }
}
