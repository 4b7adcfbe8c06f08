import HummingbirdCore
import HummingbirdHTTP2
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import NIOSSL

/// The gateway's HTTP/1.1 connections: NIO's codec; ``HTTP1ConnectionGuard`` right after the
/// decoder, where it sees bytes arrive and parser errors first and every request and answer
/// pass; ``GatewayFastPath``, which answers the commonest requests in NIO's own types; then
/// Hummingbird's codec and router for the rest; a pipeline ``WebSocketTunnel`` can take over.
/// Hummingbird's own HTTP/1.1 channel puts added handlers after its codec.
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

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>> {
        channel.eventLoop.makeCompletedFuture {
            var decoderLimits = NIOHTTPDecoderLimitConfiguration()
            decoderLimits.maxHeaderFieldSize = self.limits.maximumHeadLength
            decoderLimits.maxHeaderListSize = self.limits.maximumHeadLength
            decoderLimits.maxHeaderFieldCount = self.limits.maximumHeaderFields
            let pipeline = channel.pipeline.syncOperations
            try pipeline.configureHTTPServerPipeline(
                withPipeliningAssistance: false,  // requests are taken one at a time from the async channel
                withErrorHandling: false,  // HTTP1ConnectionGuard and Hummingbird answer parser errors
                withOutboundHeaderValidation: false,  // HTTPTypes validates
                withEncoderConfiguration: .init(),
                withDecoderLimitConfiguration: decoderLimits)
            try pipeline.addHandler(HTTP1ConnectionGuard(headTimeout: self.limits.headTimeout, idleTimeout: self.limits.idleTimeout))
            if let fastPath = self.fastPath { try pipeline.addHandler(GatewayFastPath(configuration: fastPath)) }
            try pipeline.addHandler(HTTP1ToHTTPServerCodec(secure: false))
            return try NIOAsyncChannel(wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
        }
    }

    func handle(value: NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>, logger: Logger) async {
        await self.handleHTTP(asyncChannel: value, logger: logger)
    }
}

/// HTTPS: TLS, then HTTP/2 or HTTP/1.1 as the client's ALPN offer chooses (HTTP/1.1 when it
/// offers neither), the latter as ``GatewayHTTP1Channel``.
struct SecureGatewayChannel: ServerChildChannel {
    struct Value: ServerChildChannelValue {
        let negotiated: EventLoopFuture<NIONegotiatedHTTPVersion<NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>, HTTP2Channel.Value>>
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
