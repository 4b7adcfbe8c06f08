import AuthCore
import CRTAuth
import CRTAuthHummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1

/// The gateway's most common requests, answered on the connection's event loop without the
/// router: a request without a body carrying a valid crtauth token (`Authorization: chap:…`)
/// for `/whoami`, `/_auth/check` or, with an upstream, any path that is proxied; and a
/// handshake (GET or POST of `/_auth`) that earns its challenge or token from a key store that
/// answers without waiting (SQLite, memory). Its answer, access-log line, audit line and
/// metrics are those the router would give; anything else — no token or a bad one, other
/// schemes, a handshake refused or malformed, bodies, `Connection` or `Upgrade`, exempt and
/// local paths, HEAD, HTTP/1.0, absolute-form targets — goes on to the router untouched.
/// Requests stay in order: none is answered here while the router owes an answer on the
/// connection, and what arrives while an upstream answer is under way waits (reads stop)
/// until it has ended.
///
/// A token costs a MAC and no store, a handshake a local read and a signature check, so this
/// path never suspends; the router's per-request tasks, async sequences, thread hops and
/// conversions to HTTPTypes cost the gateway more than the request itself. It sits before
/// Hummingbird's codec and speaks NIO's types.
final class GatewayFastPath: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// Shared by every connection's handler.
    final class Configuration: Sendable {
        enum Upstream: Sendable {
            /// No upstream: `/whoami` is answered.
            case none
            case proxy(UpstreamConnectionPool)
        }

        let chap: ChapTokenAuthenticator
        /// Answers handshakes as the router's middleware does.
        let authentication: CRTAuthMiddleware<CRTAuthRequestContext>
        let clock: @Sendable () -> UInt64
        let handshakePath: String
        /// Paths the router serves without credentials, and those it answers itself.
        let routerPaths: ExemptPaths
        let upstream: Upstream
        let accessLogger: Logger?
        let metrics: RequestMetrics
        /// Each event loop's tokens found authentic.
        let tokenCaches = EventLoopLocal { ChapTokenCache() }

        init(chap: ChapTokenAuthenticator, authentication: CRTAuthMiddleware<CRTAuthRequestContext>, clock: @escaping @Sendable () -> UInt64,
             handshakePath: String, routerPaths: ExemptPaths, upstream: Upstream, accessLogger: Logger?, metrics: RequestMetrics) {
            self.chap = chap
            self.authentication = authentication
            self.clock = clock
            self.handshakePath = handshakePath
            self.routerPaths = routerPaths
            self.upstream = upstream
            self.accessLogger = accessLogger
            self.metrics = metrics
        }
    }

    /// Methods proxied here (bodiless by convention; one with a body goes to the router).
    static let proxiedMethods: [HTTPMethod] = [.GET, .DELETE, .OPTIONS]

    enum Answer {
        case whoami(AuthenticatedIdentity)
        case check(AuthenticatedIdentity)
        case proxy(AuthenticatedIdentity)
        /// A handshake's 200, decided (and audited) when its head arrived.
        case handshake(xCHAP: String)
    }

    /// A request taken here, from its head on.
    struct Admitted {
        let head: HTTPRequestHead
        let path: String
        let answer: Answer
        /// What its access-log line says of the authentication.
        let fields: AccessRecord.Fields
        let started: ContinuousClock.Instant
    }

    let configuration: Configuration
    private var peer: SocketAddress? {
        didSet {
            guard case .proxy(let pool) = self.configuration.upstream else { return }
            self.client = ReverseProxy.Client(peer: self.peer, configuration: pool.proxy.configuration)
        }
    }
    /// The peer as the upstream is told of it.
    private var client: ReverseProxy.Client?
    /// The idle upstream connections of this connection's event loop, once one was needed.
    private var idleUpstreams: UpstreamConnectionPool.IdleConnections?
    /// The tokens this connection's event loop has found authentic.
    private var tokenCache: ChapTokenCache?
    /// Requests handed to the router whose answer has not ended.
    private var routerOwed = 0
    /// The parts of a request handed to the router are still arriving.
    private var routerReading = false
    /// A request taken here whose end has not arrived.
    private var admitted: Admitted?
    /// The proxied request under way.
    private var inFlight: ProxiedRequest?
    /// Parts that arrived while `inFlight`, in order.
    private var held = CircularBuffer<HTTPServerRequestPart>()
    /// A read withheld because parts wait in `held`.
    private var readWanted = false
    /// The client closed its side while parts still waited: told after them.
    private var inputClosedHeld = false
    /// Watches the upstream deadline of the request in flight; left running between requests
    /// and moved on when it fires, so a request schedules nothing.
    private var deadlineTimer: Scheduled<Void>?
    private var deadlineTimerAt: NIODeadline?

    /// Completed when the router is first handed a request, or the connection ends: the
    /// router's request loop waits for it (``GatewayHTTP1Channel``).
    let routerNeeded: EventLoopPromise<Void>

    /// The connection's handler below this one, which writes this path's answers.
    let connection: HTTP1ConnectionHandler

    init(configuration: Configuration, connection: HTTP1ConnectionHandler, eventLoop: any EventLoop) {
        self.configuration = configuration
        self.connection = connection
        self.routerNeeded = eventLoop.makePromise()
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.peer = context.channel.remoteAddress
        self.tokenCache = self.configuration.tokenCaches.value(on: context.eventLoop)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.stopWatchingDeadline()
        self.routerNeeded.succeed()
    }

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
    private func take(_ part: HTTPServerRequestPart, context: ChannelHandlerContext) -> Bool {
        switch part {
        case .head(let head):
            if self.routerOwed == 0, !self.routerReading, let admitted = self.admit(head) {
                self.admitted = admitted
                return false
            }
            self.handToRouter(head, context: context)
        case .body:
            if let admitted = self.admitted {
                // A body after all (the head announced none): the router's, with its head.
                self.admitted = nil
                self.handToRouter(admitted.head, context: context)
            }
            context.fireChannelRead(self.wrapInboundOut(part))
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
        return true
    }

    private func handToRouter(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        self.routerOwed += 1
        self.routerReading = true
        self.routerNeeded.succeed()
        context.fireChannelRead(self.wrapInboundOut(.head(head)))
    }

    /// What is answered here for a request with `head`, if anything.
    private func admit(_ head: HTTPRequestHead) -> Admitted? {
        guard head.version == .http1_1, head.method != .HEAD, head.method != .CONNECT, head.uri.utf8.first == UInt8(ascii: "/"),
              let credentials = Self.credentials(head.headers) else { return nil }
        let path = URI(head.uri).path
        let started = ContinuousClock.now
        if path == self.configuration.handshakePath {
            guard head.method == .GET || head.method == .POST, let xCHAP = credentials.xCHAP,
                  let (value, fields) = self.configuration.authentication.exchangeWithoutWaiting(xCHAP: [xCHAP], peer: self.peer) else { return nil }
            return Admitted(head: head, path: path, answer: .handshake(xCHAP: value), fields: fields, started: started)
        }
        guard let authorization = credentials.authorization, authorization.hasPrefix("chap:"), !self.configuration.routerPaths.contains(path) else { return nil }
        let answer: (AuthenticatedIdentity) -> Answer
        switch (path, self.configuration.upstream) {
        case ("/_auth/check", _): answer = Answer.check
        case ("/whoami", .none) where head.method == .GET: answer = Answer.whoami
        case (_, .proxy) where Self.proxiedMethods.contains(head.method): answer = Answer.proxy
        default: return nil
        }
        guard case .success(let identity)? = try? self.configuration.chap.authenticate(authorization: authorization, now: self.configuration.clock(), cache: self.tokenCache)
        else { return nil }
        return Admitted(head: head, path: path, answer: answer(identity), fields: .init(user: identity.username, key: identity.keyFingerprint, scheme: identity.scheme), started: started)
    }

    /// The one `Authorization` and the one `X-CHAP` value of a request that has no body and no
    /// `Connection` or `Upgrade`; nil for anything else (``HTTP1ConnectionHandler`` has refused
    /// heads without exactly one `Host`). One pass over the fields, names compared without case.
    static func credentials(_ headers: HTTPHeaders) -> (authorization: String?, xCHAP: String?)? {
        var authorization: String?
        var xCHAP: String?
        for (name, value) in headers {
            switch name.utf8.count {
            case 13 where name.isASCIICaseInsensitiveEqual(to: "authorization"):
                guard authorization == nil else { return nil }
                authorization = value
            case 6 where name.isASCIICaseInsensitiveEqual(to: "x-chap"):
                guard xCHAP == nil else { return nil }
                xCHAP = value
            case 10 where name.isASCIICaseInsensitiveEqual(to: "connection"), 7 where name.isASCIICaseInsensitiveEqual(to: "upgrade"),
                 17 where name.isASCIICaseInsensitiveEqual(to: "transfer-encoding"):
                return nil
            case 14 where name.isASCIICaseInsensitiveEqual(to: "content-length"):
                guard value == "0" else { return nil }
            default: break
            }
        }
        return (authorization, xCHAP)
    }

    private func answer(_ admitted: Admitted, context: ChannelHandlerContext) {
        switch admitted.answer {
        case .whoami(let identity):
            self.respond(admitted, status: .ok, fields: [("Content-Type", "application/json")], body: GatewayMiddleware.whoamiJSON(identity))
        case .check(let identity):
            self.respond(admitted, status: .ok, fields: ReverseProxy.identityFields(identity).map { ($0.name.rawName, $0.value) }, body: nil)
        case .handshake(let xCHAP):
            self.respond(admitted, status: .ok, fields: [("X-CHAP", xCHAP)], body: nil)
        case .proxy(let identity):
            guard case .proxy(let pool) = self.configuration.upstream else { return }
            let client = self.client ?? ReverseProxy.Client(peer: self.peer, configuration: pool.proxy.configuration)
            let idle = self.idleUpstreams ?? pool.idleConnections(of: context.eventLoop)
            self.idleUpstreams = idle
            let exchange = ProxiedRequest(admitted, identity: identity, pool: pool, idle: idle, client: client, fastPath: self, context: context)
            self.inFlight = exchange
            self.watchDeadline(of: exchange, context: context)
            exchange.start()
        }
    }

    /// A whole answer from here, in one write (``HTTP1ConnectionHandler/answer(status:fields:body:)``),
    /// its log line and metrics.
    func respond(_ admitted: Admitted, status: HTTPResponseStatus, fields: [(name: String, value: String)], body: String?) {
        self.configuration.metrics.record(self.configuration.metrics.series(path: admitted.path, method: admitted.head.method.rawValue), status: Int(status.code), since: admitted.started)
        self.connection.answer(status: status, fields: fields, body: body)
        self.log(admitted, status: Int(status.code), bytes: body?.utf8.count ?? 0)
    }

    func log(_ admitted: Admitted, status: Int, bytes: Int) {
        guard let logger = self.configuration.accessLogger else { return }
        AccessLogMiddleware<CRTAuthRequestContext>.Line(logger: logger, record: nil, started: admitted.started, method: admitted.head.method.rawValue, path: admitted.path, peer: self.peer)
            .write(status: status, bytes: bytes, fields: admitted.fields)
    }

    private func watchDeadline(of exchange: ProxiedRequest, context: ChannelHandlerContext) {
        if let at = self.deadlineTimerAt, at <= exchange.deadline { return }
        self.deadlineTimer?.cancel()
        self.deadlineTimerAt = exchange.deadline
        self.deadlineTimer = context.eventLoop.assumeIsolated().scheduleTask(deadline: exchange.deadline) { [self] in
            self.deadlineTimer = nil
            self.deadlineTimerAt = nil
            guard let exchange = self.inFlight else { return }
            if exchange.deadline <= .now() { exchange.timedOut() } else { self.watchDeadline(of: exchange, context: context) }
        }
    }

    private func stopWatchingDeadline() {
        self.deadlineTimer?.cancel()
        self.deadlineTimer = nil
        self.deadlineTimerAt = nil
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
        if self.inFlight == nil, self.inputClosedHeld {
            self.inputClosedHeld = false
            context.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        }
        if self.held.isEmpty, self.readWanted {
            self.readWanted = false
            context.read()
        }
    }

    /// Reading goes on while a proxied request is under way (a client that waits for its answer
    /// sends nothing, and stopping and restarting reads would cost two `epoll_ctl` calls per
    /// request); it stops once something has arrived that must wait, so at most one read's worth waits.
    func read(context: ChannelHandlerContext) {
        if self.inFlight != nil, !self.held.isEmpty { self.readWanted = true } else { context.read() }
    }

    /// The end of the client's input is told after the parts that arrived before it.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if self.inFlight != nil || !self.held.isEmpty, case ChannelEvent.inputClosed? = event as? ChannelEvent {
            self.inputClosedHeld = true
            return
        }
        context.fireUserInboundEventTriggered(event)
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
        self.stopWatchingDeadline()
        self.inFlight?.clientGone()
        self.routerNeeded.succeed()
        context.fireChannelInactive()
    }

    /// Errors (a head the parser refused mid-request) are the router's to answer.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.routerNeeded.succeed()
        context.fireErrorCaught(error)
    }
}

extension String {
    /// Equal to `other` (ASCII, lower case) but for the case of ASCII letters.
    func isASCIICaseInsensitiveEqual(to other: StaticString) -> Bool {
        guard self.utf8.count == other.utf8CodeUnitCount else { return false }
        return other.withUTF8Buffer { expected in
            zip(self.utf8, expected).allSatisfy { byte, lower in byte == lower || (byte >= 0x41 && byte <= 0x5A && byte | 0x20 == lower) }
        }
    }
}
