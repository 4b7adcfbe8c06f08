import AuthCore
import CRTAuth
import CRTAuthHummingbird
import HTTPTypes
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1

/// The gateway's most common request, answered on the connection's event loop without the
/// router: a request without a body carrying a valid crtauth token (`Authorization: chap:…`)
/// for `/whoami`, `/_auth/check` or, with an upstream, any path that is proxied. Its answer,
/// access-log line and metrics are those the router would give; anything else — no token or a
/// bad one, other schemes, the handshake, bodies, `Connection` or `Upgrade`, exempt and local
/// paths, HEAD — goes on to the router untouched. Requests stay in order: none is answered here
/// while the router owes an answer on the connection, and what arrives while an upstream
/// answer is under way waits (reads stop) until it has ended.
///
/// A token costs a MAC and no store, so this path never suspends; the router's per-request
/// tasks, async sequences and thread hops cost the gateway more than the request itself.
final class GatewayFastPath: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    struct Configuration: Sendable {
        enum Upstream: Sendable {
            /// No upstream: `/whoami` is answered.
            case none
            case proxy(ReverseProxy, UpstreamConnectionPool)
        }

        let chap: ChapTokenAuthenticator
        let clock: @Sendable () -> UInt64
        let handshakePath: String
        /// Paths the router serves without credentials, and those it answers itself.
        let routerPaths: ExemptPaths
        let upstream: Upstream
        let accessLogger: Logger?
        let metrics: RequestMetrics
        let logger: Logger
    }

    /// Methods proxied here (bodiless by convention; one with a body goes to the router).
    static let proxiedMethods: Set<HTTPRequest.Method> = [.get, .delete, .options]

    enum Answer {
        case whoami, check, proxy
    }

    /// A request taken here, from its head on.
    struct Admitted {
        let head: HTTPRequest
        let path: String
        let identity: AuthenticatedIdentity
        let answer: Answer
        let started: ContinuousClock.Instant
    }

    let configuration: Configuration
    private var peer: SocketAddress?
    /// Requests handed to the router whose answer has not ended.
    private var routerOwed = 0
    /// The parts of a request handed to the router are still arriving.
    private var routerReading = false
    /// A request taken here whose end has not arrived.
    private var admitted: Admitted?
    /// The proxied request under way.
    private var inFlight: ProxiedRequest?
    /// Parts that arrived while `inFlight`, in order.
    private var held = CircularBuffer<HTTPRequestPart>()
    /// A read asked for while `inFlight`.
    private var readWanted = false

    init(configuration: Configuration) { self.configuration = configuration }

    func handlerAdded(context: ChannelHandlerContext) { self.peer = context.channel.remoteAddress }

    func channelActive(context: ChannelHandlerContext) {
        self.peer = context.channel.remoteAddress
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = self.unwrapInboundIn(data)
        if self.inFlight != nil || !self.held.isEmpty { return self.held.append(part) }
        self.take(part, context: context)
    }

    /// Takes `part` here or hands it to the router (then `true`).
    @discardableResult
    private func take(_ part: HTTPRequestPart, context: ChannelHandlerContext) -> Bool {
        switch part {
        case .head(let head):
            if self.routerOwed == 0, !self.routerReading, let admitted = self.admit(head) {
                self.admitted = admitted
                return false
            }
            self.routerOwed += 1
            self.routerReading = true
            context.fireChannelRead(self.wrapInboundOut(part))
            return true
        case .body:
            if let admitted = self.admitted {
                // A body after all (the head announced none): the router's, with its head.
                self.admitted = nil
                self.routerOwed += 1
                self.routerReading = true
                context.fireChannelRead(self.wrapInboundOut(.head(admitted.head)))
            }
            context.fireChannelRead(self.wrapInboundOut(part))
            return true
        case .end:
            guard let admitted = self.admitted else {
                self.routerReading = false
                context.fireChannelRead(self.wrapInboundOut(part))
                return true
            }
            self.admitted = nil
            self.answer(admitted, context: context)
            return false
        }
    }

    /// What is answered here for a request with `head`, if anything.
    private func admit(_ head: HTTPRequest) -> Admitted? {
        let fields = head.headerFields
        guard let target = head.path, head.method != .head, head.method != .connect,
              fields[.connection] == nil, fields[.upgrade] == nil, fields[.transferEncoding] == nil,
              fields[.contentLength] == nil || fields[.contentLength] == "0",
              let authorization = fields[.authorization], authorization.hasPrefix("chap:") else { return nil }
        let path = URI(target).path
        guard path != self.configuration.handshakePath, !self.configuration.routerPaths.contains(path) else { return nil }
        let answer: Answer
        switch (path, self.configuration.upstream) {
        case ("/_auth/check", _): answer = .check
        case ("/whoami", .none) where head.method == .get: answer = .whoami
        case (_, .proxy) where Self.proxiedMethods.contains(head.method): answer = .proxy
        default: return nil
        }
        let started = ContinuousClock.now
        guard case .success(let identity)? = try? self.configuration.chap.authenticate(authorization: fields[values: .authorization], now: self.configuration.clock())
        else { return nil }
        return Admitted(head: head, path: path, identity: identity, answer: answer, started: started)
    }

    private func answer(_ admitted: Admitted, context: ChannelHandlerContext) {
        switch admitted.answer {
        case .whoami:
            let body = ByteBuffer(string: GatewayMiddleware.whoamiJSON(admitted.identity))
            self.respond(admitted, status: .ok, fields: [.contentType: "application/json"], body: body, context: context)
        case .check:
            var fields = HTTPFields()
            for field in ReverseProxy.identityFields(admitted.identity) { fields[field.name] = field.value }
            self.respond(admitted, status: .ok, fields: fields, body: nil, context: context)
        case .proxy:
            guard case .proxy(let proxy, let pool) = self.configuration.upstream else { return }
            let exchange = ProxiedRequest(admitted, proxy: proxy, pool: pool, peer: self.peer, fastPath: self, context: context)
            self.inFlight = exchange
            exchange.start()
        }
    }

    /// A whole answer from here: head, body, end, its log line and metrics.
    func respond(_ admitted: Admitted, status: HTTPResponse.Status, fields: HTTPFields, body: ByteBuffer?, context: ChannelHandlerContext) {
        var fields = fields
        fields[.contentLength] = String(body?.readableBytes ?? 0)
        self.configuration.metrics.record(self.configuration.metrics.series(path: admitted.path, method: admitted.head.method.rawValue), status: status.code, since: admitted.started)
        context.write(self.wrapOutboundOut(.head(HTTPResponse(status: status, headerFields: fields))), promise: nil)
        if let body { context.write(self.wrapOutboundOut(.body(body)), promise: nil) }
        context.writeAndFlush(self.wrapOutboundOut(.end(nil)), promise: nil)
        self.log(admitted, status: status.code, bytes: body?.readableBytes ?? 0)
    }

    func log(_ admitted: Admitted, status: Int, bytes: Int) {
        guard let logger = self.configuration.accessLogger else { return }
        let record = AccessRecord()
        record.note(scheme: admitted.identity.scheme, user: admitted.identity.username, key: admitted.identity.keyFingerprint, refusal: nil)
        AccessLogMiddleware<CRTAuthRequestContext>.Line(logger: logger, record: record, started: admitted.started, method: admitted.head.method.rawValue,
                                                        path: admitted.path, peer: self.peer).write(status: status, bytes: bytes)
    }

    /// The proxied request has ended: what waited is taken in order.
    func finished(_ exchange: ProxiedRequest, context: ChannelHandlerContext) {
        guard self.inFlight === exchange else { return }
        self.inFlight = nil
        guard context.channel.isActive else { return }
        var handedOn = false
        while self.inFlight == nil, let part = self.held.popFirst() {
            handedOn = self.take(part, context: context) || handedOn
        }
        // The router's side delivers what it was given at the end of a read.
        if handedOn { context.fireChannelReadComplete() }
        if self.inFlight == nil, self.readWanted {
            self.readWanted = false
            context.read()
        }
    }

    func read(context: ChannelHandlerContext) {
        if self.inFlight != nil { self.readWanted = true } else { context.read() }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = self.unwrapOutboundIn(data) { self.routerOwed -= 1 }
        context.write(data, promise: promise)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        self.inFlight?.clientWritable(context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.inFlight?.clientGone()
        context.fireChannelInactive()
    }
}
