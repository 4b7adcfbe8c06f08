import CRTAuthHummingbird
import NIOCore
import NIOHTTP1
import NIOSSL

/// Asks the upstream to switch protocols (a WebSocket handshake passed on): one connection of
/// its own, on the client connection's event loop so the two can be joined byte for byte, with
/// the request head sent as given. The upstream's answer decides: 101 keeps the connection for
/// the tunnel; anything else is passed back to the client as it came.
///
/// Not AsyncHTTPClient: it has no way to hand over the connection after a 101.
struct UpstreamProtocolSwitch: Sendable {
    enum Answer {
        /// The upstream switched; its connection now carries the new protocol's bytes, and
        /// reads nothing until the tunnel is joined.
        case switched(HTTPResponseHead, any Channel)
        /// The upstream refused (any other answer), with its body; the connection is closed.
        case refused(HTTPResponseHead, ByteBuffer)
    }

    enum Failure: Error {
        /// Nothing answered within the connect timeout, or the connection was refused.
        case unreachable(any Error)
        /// No response head within the response timeout.
        case timedOut
        /// The connection ended, or the answer could not be parsed or was over the size limit.
        case badAnswer(String)
    }

    /// Longest refusal body passed back; a longer one is a bad answer (502).
    static let maximumRefusalBody = 64 * 1024

    let endpoint: ReverseProxy.Endpoint
    /// For an `https://` upstream.
    let tls: NIOSSLContext?
    let responseTimeout: TimeAmount

    func request(_ head: HTTPRequestHead, on eventLoop: any EventLoop) async throws -> Answer {
        let answer = eventLoop.makePromise(of: Answer.self)
        let endpoint = self.endpoint, tls = self.tls, timeout = self.responseTimeout
        let channel: any Channel
        do {
            channel = try await endpoint.connect(on: eventLoop, tls: tls) { channel in
                // Header fields come from HTTPTypes, already validated.
                try channel.pipeline.syncOperations.addHTTPClientHandlers(leftOverBytesStrategy: .forwardBytes, enableOutboundHeaderValidation: false)
                try channel.pipeline.syncOperations.addHandler(SwitchAnswerReader(answer: answer, timeout: timeout))
            }.get()
        } catch {
            answer.fail(Failure.unreachable(error))
            throw Failure.unreachable(error)
        }
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        return try await answer.futureResult.get()
    }

    /// Leaves only the raw connection (the header fields were HTTPTypes' and valid, so no
    /// validator was added): the HTTP codec goes, and any bytes the upstream sent
    /// after its 101 go on to the handlers added after this.
    /// The future completes once those bytes are on their way (the decoder leaves on a later
    /// turn of the event loop).
    static func stripHTTP(from channel: any Channel) throws -> EventLoopFuture<Void> {
        let pipeline = channel.pipeline.syncOperations
        _ = try pipeline.removeHandler(pipeline.handler(type: SwitchAnswerReader.self))
        _ = try pipeline.removeHandler(pipeline.handler(type: HTTPRequestEncoder.self))
        return try pipeline.removeHandler(pipeline.handler(type: ByteToMessageHandler<HTTPResponseDecoder>.self))
    }
}

/// Reads the upstream's answer to a protocol switch into a promise: a 101 at its head, any
/// other answer whole (up to ``UpstreamProtocolSwitch/maximumRefusalBody``).
final class SwitchAnswerReader: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart

    private let answer: EventLoopPromise<UpstreamProtocolSwitch.Answer>
    private let timeout: TimeAmount
    private var deadline: Scheduled<Void>?
    private var refusal: (head: HTTPResponseHead, body: ByteBuffer)?
    private var done = false

    init(answer: EventLoopPromise<UpstreamProtocolSwitch.Answer>, timeout: TimeAmount) {
        self.answer = answer
        self.timeout = timeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let channel = context.channel
        let answer = self.answer
        self.deadline = context.eventLoop.scheduleTask(in: self.timeout) {
            answer.fail(UpstreamProtocolSwitch.Failure.timedOut)
            channel.close(promise: nil)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !self.done else { return }
        switch self.unwrapInboundIn(data) {
        case .head(let head) where head.status == .switchingProtocols:
            // Hold whatever follows until the tunnel is joined.
            try? context.channel.syncOptions?.setOption(.autoRead, value: false)
            self.finish(.success(.switched(head, context.channel)))
        case .head(let head):
            self.refusal = (head, context.channel.allocator.buffer(capacity: 0))
        case .body(var buffer):
            guard self.refusal != nil else { return }
            if self.refusal!.body.readableBytes + buffer.readableBytes > UpstreamProtocolSwitch.maximumRefusalBody {
                self.finish(.failure(UpstreamProtocolSwitch.Failure.badAnswer("a refusal body over \(UpstreamProtocolSwitch.maximumRefusalBody) bytes")))
                context.close(promise: nil)
                return
            }
            self.refusal!.body.writeBuffer(&buffer)
        case .end:
            if let refusal = self.refusal { self.finish(.success(.refused(refusal.head, refusal.body))) }
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.finish(.failure(UpstreamProtocolSwitch.Failure.badAnswer("the connection closed before an answer")))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.finish(.failure(UpstreamProtocolSwitch.Failure.badAnswer("\(error)")))
        context.close(promise: nil)
    }

    private func finish(_ result: Result<UpstreamProtocolSwitch.Answer, any Error>) {
        guard !self.done else { return }
        self.done = true
        self.deadline?.cancel()
        self.answer.completeWith(result)
    }
}

extension String {
    /// An IPv4 or IPv6 literal.
    var isIPAddress: Bool { (try? SocketAddress(ipAddress: self, port: 0)) != nil }
}
