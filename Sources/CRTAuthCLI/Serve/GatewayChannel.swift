import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdHTTP2
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import NIOSSL

/// The gateway's HTTP/1.1 connections: Hummingbird's request handling, behind a guard on the
/// request head (``RequestHeadGuard``), with the first request able to switch protocols
/// through ``WebSocketTunnelUpgrader`` when an upstream is configured. Hummingbird's own
/// HTTP/1.1 channel has no way to hand a connection over after a 101.
struct GatewayHTTP1Channel: ServerChildChannel, HTTPChannelHandler {
    /// What the connection's first request led to.
    enum Negotiated: Sendable {
        case http(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>)
        /// An upgrade the router or the upstream refused: this answer, then the connection closes.
        case refused(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>, Response)
        /// Joined to the upstream until either side closes.
        case tunnel(any Channel)
    }

    struct Value: ServerChildChannelValue {
        let negotiated: EventLoopFuture<Negotiated>
        let channel: any Channel
    }

    struct Limits: Sendable {
        var headTimeout: TimeAmount
        var idleTimeout: Duration
        /// Longest request head (request line and fields); longer is a 431.
        var maximumHeadLength: Int
        /// Most header fields in one request; more is a 431.
        var maximumHeaderFields: Int
    }

    let responder: HTTPChannelHandler.Responder
    let limits: Limits
    /// How the router answers an upgrade request; nil when nothing is tunnelled (no upstream).
    let upgradeResponder: (@Sendable (Request, any Channel) async -> Response)?

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            let attempt = UpgradeAttempt(eventLoop: channel.eventLoop)
            // An upstream connection opened for a client that left before the switch.
            channel.closeFuture.whenComplete { _ in attempt.takeUpstream()?.close(promise: nil) }
            let limits = self.limits
            let upgraders = self.upgradeResponder.map { [WebSocketTunnelUpgrader(attempt: attempt, respond: $0)] } ?? []
            let upgrade = NIOTypedHTTPServerUpgradeConfiguration<Negotiated>(upgraders: upgraders) { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    try pipeline.addHandler(HTTP1ToHTTPServerCodec(secure: false))
                    try pipeline.addHandler(HTTPConnectionStateHandler(idleTimeout: limits.idleTimeout, logger: logger))
                    let http = try NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>(wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
                    if let refusal = attempt.takeRefusal() { return .refused(http, refusal) }
                    return .http(http)
                }
            }
            var configuration = NIOUpgradableHTTPServerPipelineConfiguration(upgradeConfiguration: upgrade)
            configuration.enablePipelining = false  // requests are taken one at a time from the async channel
            configuration.enableErrorHandling = false  // RequestHeadGuard answers parser errors
            configuration.enableResponseHeaderValidation = false  // HTTPTypes validates
            configuration.decoderConfiguration.maxHeaderFieldSize = limits.maximumHeadLength
            configuration.decoderConfiguration.maxHeaderListSize = limits.maximumHeadLength
            configuration.decoderConfiguration.maxHeaderFieldCount = limits.maximumHeaderFields
            let negotiated = try channel.pipeline.syncOperations.configureUpgradableHTTPServerPipeline(configuration: configuration)
            let decoder = try channel.pipeline.syncOperations.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
            try channel.pipeline.syncOperations.addHandler(RequestHeadGuard(timeout: limits.headTimeout), position: .after(decoder))
            return Value(negotiated: negotiated, channel: channel)
        }
    }

    func handle(value: Value, logger: Logger) async {
        do {
            switch try await value.negotiated.get() {
            case .http(let http):
                await self.handleHTTP(asyncChannel: http, logger: logger)
            case .refused(let http, let response):
                try await Self.answerAndClose(http, response)
            case .tunnel(let channel):
                try await channel.closeFuture.get()
            }
        } catch {
            logger.debug("connection ended", metadata: ["error": .string("\(error)")])
        }
    }

    static func answerAndClose(_ http: NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>, _ response: Response) async throws {
        try await http.executeThenClose { _, outbound in
            var head = response.head
            head.headerFields[.connection] = "close"
            if head.headerFields[.contentLength] == nil, let length = response.body.contentLength { head.headerFields[.contentLength] = String(length) }
            try await outbound.write(.head(head))
            try await response.body.write(PartWriter(outbound: outbound))
        }
    }

    /// A response body written as HTTP parts.
    struct PartWriter: ResponseBodyWriter {
        let outbound: NIOAsyncChannelOutboundWriter<HTTPResponsePart>

        mutating func write(_ buffer: ByteBuffer) async throws { try await self.outbound.write(.body(buffer)) }

        consuming func finish(_ trailingHeaders: HTTPFields?) async throws { try await self.outbound.write(.end(trailingHeaders)) }
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
