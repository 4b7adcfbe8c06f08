import AuthCore
import CRTAuthHummingbird
import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTP1
import NIOHTTPTypesHTTP1
import NIOSSL
import Synchronization

/// WebSocket (and any other `Upgrade`) pass-through. The first request of an HTTP/1.1
/// connection that asks to switch protocols goes through the router like any other — access
/// log, metrics, authentication — and the gateway's middleware, finding an ``UpgradeAttempt``
/// bound to the task, asks the upstream to switch instead of proxying. An upstream that answers
/// 101 is joined to the client byte for byte, so subprotocols and extensions are the two ends'
/// business; anything else (a refused credential, the upstream's own refusal) is answered as it
/// stands and the connection closed.
struct WebSocketTunnel: Sendable {
    let proxy: ReverseProxy
    let upstream: UpstreamProtocolSwitch

    init(proxy: ReverseProxy, upstreamTLS: TLSConfiguration) throws {
        self.proxy = proxy
        self.upstream = UpstreamProtocolSwitch(
            endpoint: proxy.endpoint, tls: proxy.endpoint.secure ? try NIOSSLContext(configuration: upstreamTLS) : nil,
            responseTimeout: .nanoseconds(Int64(proxy.configuration.responseTimeout.components.seconds) * 1_000_000_000))
    }

    /// The upstream's answer to `request` (sent with the identity and forwarding fields the proxy
    /// sets); on a 101 its connection is left in `attempt`.
    func open(_ request: Request, identity: AuthenticatedIdentity?, peer: SocketAddress?, attempt: UpgradeAttempt) async -> Response {
        var headers = self.proxy.upstreamHeaders(request, identity: identity, peer: peer)
        headers.replaceOrAdd(name: "Host", value: self.upstream.endpoint.authority)
        headers.replaceOrAdd(name: "Connection", value: "Upgrade")
        headers.replaceOrAdd(name: "Upgrade", value: request.headers[.upgrade] ?? "websocket")
        var target = request.uri.string
        if !target.hasPrefix("/") { target = "/" + target }
        let head = HTTPRequestHead(version: .http1_1, method: HTTPMethod(request.method), uri: self.upstream.endpoint.basePath + target, headers: headers)
        do {
            switch try await self.upstream.request(head, on: attempt.eventLoop) {
            case .switched(let answer, let channel):
                attempt.hold(channel)
                return Response(status: .switchingProtocols, headers: Self.passedBack(answer.headers))
            case .refused(let answer, let body):
                return Response(status: .init(code: Int(answer.status.code), reasonPhrase: answer.status.reasonPhrase), headers: Self.passedBack(answer.headers), body: .init(byteBuffer: body))
            }
        } catch UpstreamProtocolSwitch.Failure.timedOut {
            return ReverseProxy.text(.gatewayTimeout, "Gateway Timeout: the upstream did not answer in time")
        } catch {
            return ReverseProxy.text(.badGateway, "Bad Gateway: the upstream did not answer")
        }
    }

    /// The upstream's header fields less hop-by-hop ones (the 101's `Upgrade` and `Connection`
    /// are written by the server) and any framing: the answer is re-framed here.
    static func passedBack(_ headers: HTTPHeaders) -> HTTPFields {
        let dropped = ReverseProxy.droppedHeaders(headers).union(["content-length"])
        var fields = HTTPFields()
        for (name, value) in headers where !dropped.contains(name.lowercased()) {
            if let name = HTTPField.Name(name) { fields.append(HTTPField(name: name, value: value)) }
        }
        return fields
    }
}

/// One connection's attempt to switch protocols: bound to the task that answers its first
/// request through the router, it carries the upstream's connection from the middleware that
/// opened it to the upgrader that joins it, or the answer that refused it to the HTTP side.
final class UpgradeAttempt: Sendable {
    @TaskLocal static var current: UpgradeAttempt?

    /// The client connection's event loop: the upstream connection is made on it, to be joined.
    let eventLoop: any EventLoop
    private let state = Mutex<(upstream: (any Channel)?, refusal: Response?)>((nil, nil))

    init(eventLoop: any EventLoop) { self.eventLoop = eventLoop }

    func hold(_ upstream: any Channel) { self.state.withLock { $0.upstream = upstream } }

    func takeUpstream() -> (any Channel)? { self.state.withLock { state in defer { state.upstream = nil }; return state.upstream } }

    /// Keeps the answer for the client; an upstream connection held is closed.
    func refuse(with response: Response) {
        let upstream = self.state.withLock { state in
            defer { (state.upstream, state.refusal) = (nil, response) }
            return state.upstream
        }
        upstream?.close(promise: nil)
    }

    func takeRefusal() -> Response? { self.state.withLock { state in defer { state.refusal = nil }; return state.refusal } }
}

/// NIO's side of the switch: asks the router (``UpgradeAttempt``), and on a 101 joins the two
/// connections once the client has its answer.
struct WebSocketTunnelUpgrader: NIOTypedHTTPServerProtocolUpgrader {
    typealias UpgradeResult = GatewayHTTP1Channel.Negotiated
    /// Why an upgrade did not happen; the HTTP side then answers.
    struct NotSwitched: Error {}

    let supportedProtocol = "websocket"
    /// The upstream checks the handshake's own fields.
    let requiredUpgradeHeaders: [String] = []
    let attempt: UpgradeAttempt
    let respond: @Sendable (Request, any Channel) async -> Response

    func buildUpgradeResponse(channel: any Channel, upgradeRequest: HTTPRequestHead, initialResponseHeaders: HTTPHeaders) -> EventLoopFuture<HTTPHeaders> {
        let promise = channel.eventLoop.makePromise(of: HTTPHeaders.self)
        let attempt = self.attempt, respond = self.respond
        promise.completeWithTask {
            let request = Request(head: try HTTPRequest(upgradeRequest, secure: false, splitCookie: false), body: .init(buffer: ByteBuffer()))
            let response = await UpgradeAttempt.$current.withValue(attempt) { await respond(request, channel) }
            guard response.status == .switchingProtocols else {
                attempt.refuse(with: response)
                throw NotSwitched()
            }
            var headers = initialResponseHeaders
            for field in response.headers { headers.add(name: field.name.rawName, value: field.value) }
            return headers
        }
        return promise.futureResult
    }

    func upgrade(channel: any Channel, upgradeRequest: HTTPRequestHead) -> EventLoopFuture<UpgradeResult> {
        channel.eventLoop.makeCompletedFuture {
            guard let upstream = self.attempt.takeUpstream() else { throw NotSwitched() }
            channel.closeFuture.whenComplete { _ in upstream.close(promise: nil) }
            let pipeline = channel.pipeline.syncOperations
            _ = try pipeline.removeHandler(pipeline.handler(type: RequestHeadGuard.self))
            // The relays first: the upstream's HTTP decoder hands what followed its 101 to them.
            try ByteRelay.join(channel, upstream)
            // What the upstream sent after its 101 is handed on without a read completing.
            try UpstreamProtocolSwitch.stripHTTP(from: upstream).whenComplete { _ in channel.flush() }
            return .tunnel(channel)
        }
    }
}
