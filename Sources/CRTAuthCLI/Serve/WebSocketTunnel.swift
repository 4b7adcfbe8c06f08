import AuthCore
import CRTAuthHummingbird
import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTP1
import NIOHTTPTypesHTTP1
import NIOSSL

/// WebSocket (and any other `Upgrade`) pass-through. A request that asks to switch protocols
/// goes through the router like any other — access log, metrics, authentication — and the
/// gateway's middleware asks the upstream to switch instead of proxying it. An upstream that
/// answers 101 gets the client's connection joined to its own byte for byte (subprotocols and
/// extensions are the two ends' business): the 101 goes out as the response head, then its
/// body, which never ends, takes the connection off HTTP and relays until either side closes.
/// Anything else — the upstream's refusal, 502, 504 — is an ordinary response. Any request of
/// an HTTP/1.1 connection may switch, so a proxy's keep-alive connections carry upgrades too.
struct WebSocketTunnel: Sendable {
    let proxy: ReverseProxy
    let upstream: UpstreamProtocolSwitch

    init(proxy: ReverseProxy, tls: NIOSSLContext?) {
        self.proxy = proxy
        self.upstream = UpstreamProtocolSwitch(
            endpoint: proxy.endpoint, tls: tls,
            responseTimeout: .nanoseconds(Int64(proxy.configuration.responseTimeout.components.seconds) * 1_000_000_000))
    }

    /// Whether `request`, on `channel`, is one to tunnel: it names a protocol to switch to and
    /// came over HTTP/1.1 (HTTP/2 has no `Upgrade`), with `Connection: upgrade` as RFC 9110 §7.8
    /// requires (NIO's decoder then holds what follows the head instead of parsing it).
    static func wanted(_ request: Request, on channel: any Channel) async -> Bool {
        guard request.headers[.upgrade] != nil, ReverseProxy.connectionOptions(request.headers[values: .connection]).contains("upgrade") else { return false }
        let http1 = channel.eventLoop.submit { (try? channel.pipeline.syncOperations.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)) != nil }
        return (try? await http1.get()) ?? false
    }

    /// The upstream's answer to `request` (sent with the identity and forwarding fields the proxy
    /// sets); a 101 whose body is the tunnel over `channel`.
    func open(_ request: Request, identity: AuthenticatedIdentity?, peer: SocketAddress?, channel: any Channel) async -> Response {
        var headers = self.proxy.upstreamHeaders(request.head, identity: identity, peer: peer)
        headers.replaceOrAdd(name: "Host", value: self.upstream.endpoint.authority)
        headers.replaceOrAdd(name: "Connection", value: "Upgrade")
        headers.replaceOrAdd(name: "Upgrade", value: request.headers[.upgrade] ?? "websocket")
        var target = request.uri.string
        if !target.hasPrefix("/") { target = "/" + target }
        let head = HTTPRequestHead(version: .http1_1, method: HTTPMethod(request.method), uri: self.upstream.endpoint.basePath + target, headers: headers)
        do {
            switch try await self.upstream.request(head, on: channel.eventLoop) {
            case .switched(let answer, let upstream):
                // A client gone meanwhile leaves nothing open.
                channel.closeFuture.whenComplete { _ in upstream.close(promise: nil) }
                var fields = ReverseProxy.passedBack(answer.headers)
                fields[.connection] = "upgrade"
                fields[.upgrade] = answer.headers.first(name: "upgrade") ?? "websocket"
                // The connection switches as the 101 leaves, whenever Hummingbird writes it.
                let armed = channel.eventLoop.submit {
                    let pipeline = channel.pipeline.syncOperations
                    try pipeline.addHandler(SwitchOnResponseHead(upstream: upstream), position: .after(pipeline.handler(type: HTTP1ConnectionHandler.self)))
                }
                guard (try? await armed.get()) != nil else {
                    upstream.close(promise: nil)
                    return ReverseProxy.text(.badGateway, "Bad Gateway: the connection could not be switched")
                }
                return Response(status: .switchingProtocols, headers: fields, body: ResponseBody { _ in try await channel.closeFuture.get() })
            case .refused(let answer, let body):
                return Response(status: .init(code: Int(answer.status.code), reasonPhrase: answer.status.reasonPhrase), headers: ReverseProxy.passedBack(answer.headers), body: .init(byteBuffer: body))
            }
        } catch UpstreamProtocolSwitch.Failure.timedOut {
            return ReverseProxy.text(.gatewayTimeout, ReverseProxy.gatewayTimeoutMessage)
        } catch {
            return ReverseProxy.text(.badGateway, ReverseProxy.badGatewayMessage)
        }
    }

    /// Takes `channel` off HTTP and relays it to `upstream`: the relay goes in right after the
    /// request decoder, which leaves (handing on any bytes it held), so what arrives from here on
    /// reaches the relay and nothing behind it, and what the relay writes goes straight out. The
    /// HTTP handlers behind it stay, idle, until the connection closes.
    static func join(_ channel: any Channel, _ upstream: any Channel) throws {
        let pipeline = channel.pipeline.syncOperations
        let decoder = try pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
        try ByteRelay.join(channel, upstream, after: decoder)
        _ = try pipeline.removeHandler(pipeline.handler(type: SwitchOnResponseHead.self))
        // Both decoders hand on what they held on a later turn of the loop, without a read completing.
        let held = [pipeline.removeHandler(decoder), try UpstreamProtocolSwitch.stripHTTP(from: upstream)]
        EventLoopFuture.andAllComplete(held, on: channel.eventLoop).whenComplete { _ in
            channel.flush()
            upstream.flush()
        }
    }
}

/// Waits in the client connection's pipeline for the 101 to pass on its way out, then joins the
/// connection to the upstream (``WebSocketTunnel/join(_:_:)``): the switch happens exactly
/// after the last HTTP the client is sent, however the response writer schedules it.
final class SwitchOnResponseHead: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let upstream: any Channel

    init(upstream: any Channel) { self.upstream = upstream }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .head(let head) = self.unwrapOutboundIn(data), head.status == .switchingProtocols else {
            return context.write(data, promise: promise)
        }
        context.writeAndFlush(data, promise: promise)
        do { try WebSocketTunnel.join(context.channel, self.upstream) } catch { context.close(promise: nil) }
    }
}
