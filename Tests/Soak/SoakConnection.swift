import NIOCore
import NIOHTTP1
import NIOPosix

/// A request of the load, as the client writes it.
struct SoakRequest: Sendable {
    var method = "GET"
    var path: String
    var fields: [(name: String, value: String)] = []
    var body: [UInt8] = []
}

/// An answer read whole.
struct SoakAnswer: Sendable {
    let status: Int
    let fields: HTTPHeaders
    let body: String
    /// The server closes the connection after this answer.
    let closes: Bool
}

/// Why an exchange got no answer.
struct ExchangeFailure: Error, CustomStringConvertible {
    let description: String
}

/// One client's keep-alive HTTP/1.1 connection: a request at a time, connecting again when the
/// server closed the last one. Owned by one task. An answer that takes longer than
/// ``answerTimeout`` closes the connection and fails the exchange.
final class SoakConnection {
    static let answerTimeout: TimeAmount = .seconds(15)
    /// Bytes of an answer's body kept (the rest is read and dropped).
    static let bodyKept = 1 << 20

    let host: String
    let port: Int
    private var channel: (any Channel)?
    /// Connections opened so far.
    private(set) var opened = 0

    init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    func exchange(_ request: SoakRequest) async throws -> SoakAnswer {
        let channel: any Channel
        if let open = self.channel, open.isActive {
            channel = open
        } else {
            channel = try await self.connect()
            self.channel = channel
            self.opened += 1
        }
        var head = HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: request.method), uri: request.path)
        head.headers.add(name: "Host", value: "\(self.host):\(self.port)")
        for field in request.fields { head.headers.add(name: field.name, value: field.value) }
        if !request.body.isEmpty || request.method == "POST" { head.headers.add(name: "Content-Length", value: String(request.body.count)) }
        let promise = channel.eventLoop.makePromise(of: SoakAnswer.self)
        channel.writeAndFlush(AnswerReader.Outbound(head: head, body: request.body, answer: promise), promise: nil)
        do {
            let answer = try await promise.futureResult.get()
            if answer.closes {
                self.channel = nil
                try? await channel.close()
            }
            return answer
        } catch {
            self.channel = nil
            try? await channel.close()
            throw error
        }
    }

    func close() async {
        if let channel = self.channel { try? await channel.close() }
        self.channel = nil
    }

    private func connect() async throws -> any Channel {
        do {
            return try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .channelOption(.socketOption(.so_reuseaddr), value: 1)
                .connectTimeout(.seconds(5))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        try channel.pipeline.syncOperations.addHandlers([IdleStateHandler(readTimeout: Self.answerTimeout), AnswerReader()])
                    }
                }
                .connect(host: self.host, port: self.port).get()
        } catch {
            throw ExchangeFailure(description: "cannot connect to \(self.host):\(self.port): \(error)")
        }
    }
}

/// Writes a request and completes its promise with the answer; fails it when the connection
/// ends or stalls first.
private final class AnswerReader: ChannelDuplexHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = Outbound
    typealias OutboundOut = HTTPClientRequestPart

    struct Outbound: Sendable {
        let head: HTTPRequestHead
        let body: [UInt8]
        let answer: EventLoopPromise<SoakAnswer>
    }

    private var pending: EventLoopPromise<SoakAnswer>?
    private var head: HTTPResponseHead?
    private var body = ""

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = self.unwrapOutboundIn(data)
        if let earlier = self.pending { earlier.fail(ExchangeFailure(description: "a request was written before the last was answered")) }
        self.pending = request.answer
        context.write(self.wrapOutboundOut(.head(request.head)), promise: nil)
        if !request.body.isEmpty {
            context.write(self.wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: request.body)))), promise: nil)
        }
        context.write(self.wrapOutboundOut(.end(nil)), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch self.unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            self.body = ""
        case .body(let buffer):
            if self.body.utf8.count < SoakConnection.bodyKept { self.body += String(buffer: buffer) }
        case .end:
            guard let head = self.head, let pending = self.pending else { return }
            self.head = nil
            self.pending = nil
            pending.succeed(SoakAnswer(status: Int(head.status.code), fields: head.headers, body: self.body, closes: !head.isKeepAlive))
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent, self.pending != nil {
            self.fail(ExchangeFailure(description: "no answer within \(SoakConnection.answerTimeout.nanoseconds / 1_000_000_000) s"))
            context.close(promise: nil)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.fail(ExchangeFailure(description: "connection error: \(error)"))
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.fail(ExchangeFailure(description: "the server closed the connection before answering"))
        context.fireChannelInactive()
    }

    private func fail(_ error: ExchangeFailure) {
        self.pending?.fail(error)
        self.pending = nil
    }
}
