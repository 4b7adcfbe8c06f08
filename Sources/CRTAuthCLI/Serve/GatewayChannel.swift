import HummingbirdCore
import HummingbirdHTTP2
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import NIOSSL

/// The gateway's HTTP/1.1 connections: NIO's request decoder; ``HTTP1ConnectionHandler`` right
/// after it, where it sees bytes arrive and parser errors first, every request and answer pass,
/// and answers take their wire form; ``GatewayFastPath``, which answers the commonest requests
/// in NIO's own types; then Hummingbird's codec and router for the rest; a pipeline
/// ``WebSocketTunnel`` can take over. Hummingbird's own HTTP/1.1 channel puts added handlers
/// after its codec.
struct GatewayHTTP1Channel: ServerChildChannel, HTTPChannelHandler {
    struct Limits: Sendable {
        var headTimeout: TimeAmount
        var idleTimeout: TimeAmount
        /// Longest request head (request line and fields); longer is a 431.
        var maximumHeadLength: Int
        /// Most header fields in one request; more is a 431.
        var maximumHeaderFields: Int
    }

    let responder: HTTPChannelHandler.Responder
    let limits: Limits
    /// Token-carrying requests answered without the router, when set.
    let fastPath: GatewayFastPath.Configuration?

    struct Value: ServerChildChannelValue {
        let asyncChannel: NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>
        /// Completes when a request needs the router, or the connection has closed.
        let routerNeeded: EventLoopFuture<Void>?
        var channel: any Channel { self.asyncChannel.channel }
    }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            var decoderLimits = NIOHTTPDecoderLimitConfiguration()
            decoderLimits.maxHeaderFieldSize = self.limits.maximumHeadLength
            decoderLimits.maxHeaderListSize = self.limits.maximumHeadLength
            decoderLimits.maxHeaderFieldCount = self.limits.maximumHeaderFields
            let pipeline = channel.pipeline.syncOperations
            // Parser errors are answered by HTTP1ConnectionHandler and Hummingbird; fields, by HTTPTypes.
            try pipeline.addHandler(ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes, limitConfiguration: decoderLimits)))
            let connection = HTTP1ConnectionHandler(headTimeout: self.limits.headTimeout, idleTimeout: self.limits.idleTimeout)
            try pipeline.addHandler(connection)
            let fastPath = self.fastPath.map { GatewayFastPath(configuration: $0, connection: connection, eventLoop: channel.eventLoop) }
            if let fastPath { try pipeline.addHandler(fastPath) }
            try pipeline.addHandler(HTTP1ToHTTPServerCodec(secure: false))
            let asyncChannel = try NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>(wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
            return Value(asyncChannel: asyncChannel, routerNeeded: fastPath?.routerNeeded.futureResult)
        }
    }

    /// The router's request loop, started only once a request needs it: a connection the fast
    /// path serves alone never holds the loop's tasks and buffers (a third of what an idle
    /// connection costs).
    func handle(value: Value, logger: Logger) async {
        if let routerNeeded = value.routerNeeded { try? await routerNeeded.get() }
        await self.handleHTTP(asyncChannel: value.asyncChannel, logger: logger)
    }
}

/// HTTPS: TLS, then HTTP/2 or HTTP/1.1 as the client's ALPN offer chooses (HTTP/1.1 when it
/// offers neither), the latter as ``GatewayHTTP1Channel``.
struct SecureGatewayChannel: ServerChildChannel {
    struct Value: ServerChildChannelValue {
        let negotiated: EventLoopFuture<NIONegotiatedHTTPVersion<GatewayHTTP1Channel.Value, HTTP2Channel.Value>>
        let channel: any Channel
    }

    let tls: NIOSSLContext
    let http1: GatewayHTTP1Channel
    let http2: HTTP2Channel

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        do {
            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: self.tls))
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        return channel.configureHTTP2AsyncSecureUpgrade { channel in
            self.http1.setup(channel: channel, logger: logger)
        } http2ConnectionInitializer: { channel in
            self.http2.setup(channel: channel, logger: logger)
        }
        .map { Value(negotiated: $0, channel: channel) }
    }

    func handle(value: Value, logger: Logger) async {
        do {
            switch try await value.negotiated.get() {
            case .http1_1(let http1): await self.http1.handle(value: http1, logger: logger)
            case .http2(let http2): await self.http2.handle(value: http2, logger: logger)
            }
        } catch {
            logger.debug("TLS or protocol negotiation failed", metadata: ["error": .string("\(error)")])
        }
    }
}
