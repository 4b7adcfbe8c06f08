import NIOCore

/// One end of a tunnel between two connections on the same event loop: what one reads, the
/// other writes, unchanged. A side reads only while its partner can take more (so a slow reader
/// at one end slows the writer at the other), a half-close is passed on as a half-close, a close
/// closes both, and a server shutting down closes its tunnels.
///
/// Written here because NIO ships this only in its examples, not as a library handler.
final class ByteRelay: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    typealias OutboundIn = NIOAny
    typealias OutboundOut = NIOAny

    private var partner: ByteRelay?
    private var context: ChannelHandlerContext?
    private var readWanted = false
    /// This side's connection was half-closed because its partner's peer finished sending.
    private var outputClosed = false

    private init() {}

    /// Joins `first` (its relay placed after `handler`) and `second` (at its end), both on one
    /// event loop and called on it, and starts reading both.
    static func join(_ first: any Channel, _ second: any Channel, after handler: any ChannelHandler) throws {
        let (one, other) = (ByteRelay(), ByteRelay())
        one.partner = other
        other.partner = one
        try first.pipeline.syncOperations.addHandler(one, position: .after(handler))
        try second.pipeline.syncOperations.addHandler(other)
        try first.syncOptions?.setOption(.autoRead, value: true)
        try second.syncOptions?.setOption(.autoRead, value: true)
        first.read()
        second.read()
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        self.partner = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        self.partner?.context?.write(data, promise: nil)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        self.partner?.context?.flush()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { self.partner?.resumeReading() }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.partner?.context?.close(promise: nil)
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case ChannelEvent.inputClosed:
            // This side sent all it will: the other side's peer is told so, and may still answer.
            // Once both have finished, the connections close.
            guard let partner = self.partner, let partnerContext = partner.context, !self.outputClosed else { return context.close(promise: nil) }
            partner.outputClosed = true
            partnerContext.close(mode: .output).assumeIsolated().whenFailure { _ in partnerContext.close(promise: nil) }
        case is ChannelShouldQuiesceEvent:
            context.close(promise: nil)
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    func read(context: ChannelHandlerContext) {
        if self.partner?.context?.channel.isWritable ?? false {
            context.read()
        } else {
            self.readWanted = true
        }
    }

    private func resumeReading() {
        guard self.readWanted, let context = self.context else { return }
        self.readWanted = false
        context.read()
    }
}
