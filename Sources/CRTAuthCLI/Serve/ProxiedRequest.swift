import AuthCore
import CRTAuthHummingbird
import NIOCore
import NIOHTTP1

/// One request of ``GatewayFastPath`` sent upstream on a pooled connection, its answer
/// streamed back as it comes: the upstream is read only while the client keeps up. The header
/// rules are ``ReverseProxy``'s; an upstream that cannot be reached is a 502, one that sends no
/// answer head within the upstream timeout a 504 (the deadline is watched by
/// ``GatewayFastPath``'s one timer per connection). A pooled connection that turns out closed
/// before any answer (the upstream dropped it while idle) is replaced once.
/// Everything here runs on the client connection's event loop.
final class ProxiedRequest: UpstreamExchange {
    private let admitted: GatewayFastPath.Admitted
    private let proxy: ReverseProxy
    private let pool: UpstreamConnectionPool
    private let head: HTTPRequestHead
    private let fastPath: GatewayFastPath
    private let context: ChannelHandlerContext
    private var connection: UpstreamConnection?
    /// The connection came from the pool, and this request has not been sent again yet.
    private var mayRetry = false
    /// The status passed back, once the answer's head has been.
    private var status: Int?
    private var bytes = 0
    private var keepAlive = true
    private var done = false

    init(_ admitted: GatewayFastPath.Admitted, identity: AuthenticatedIdentity, proxy: ReverseProxy, pool: UpstreamConnectionPool, client: ReverseProxy.Client,
         fastPath: GatewayFastPath, context: ChannelHandlerContext) {
        self.admitted = admitted
        self.proxy = proxy
        self.pool = pool
        self.fastPath = fastPath
        self.context = context
        var headers = proxy.upstreamHeaders(admitted.head, identity: identity, client: client)
        headers.replaceOrAdd(name: "Host", value: pool.endpoint.authority)
        self.head = HTTPRequestHead(version: .http1_1, method: admitted.head.method, uri: pool.endpoint.basePath + admitted.head.uri, headers: headers)
        let timeout = proxy.configuration.responseTimeout.components
        self.deadline = .now() + .nanoseconds(timeout.seconds * 1_000_000_000 + timeout.attoseconds / 1_000_000_000)
    }

    /// When the answer's head must have come (``GatewayFastPath`` keeps the timer).
    let deadline: NIODeadline

    func start() { self.send(retrying: false) }

    /// No answer head by ``deadline``: 504.
    func timedOut() {
        guard !self.done, self.status == nil else { return }
        self.connection?.abandon()
        self.connection = nil
        self.proxy.logger.warning("upstream did not answer in time", metadata: ["timeout": .string("\(self.proxy.configuration.responseTimeout)")])
        self.fail(.gatewayTimeout, ReverseProxy.gatewayTimeoutMessage)
    }

    private func send(retrying: Bool) {
        if let connection = self.pool.idleConnection(on: self.context.eventLoop) {
            return self.send(on: connection, reused: true, retrying: retrying)
        }
        self.pool.connect(on: self.context.eventLoop).assumeIsolated().whenComplete { [self] result in
            switch result {
            case .success(let connection):
                guard !self.done else { return self.pool.release(connection) }
                self.send(on: connection, reused: false, retrying: retrying)
            case .failure(let error):
                guard !self.done else { return }
                self.proxy.logger.warning("upstream request failed", metadata: ["error": .string("\(error)")])
                self.fail(.badGateway, ReverseProxy.badGatewayMessage)
            }
        }
    }

    private func send(on connection: UpstreamConnection, reused: Bool, retrying: Bool) {
        self.mayRetry = reused && !retrying
        guard connection.channel.isActive else { return self.upstreamFailed(UpstreamConnection.Closed()) }
        self.connection = connection
        if !self.context.channel.isWritable { connection.setReading(false) }
        connection.send(self.head, to: self)
    }

    func upstreamPart(_ part: HTTPClientResponsePart) {
        guard !self.done else { return }
        switch part {
        case .head(let answer):
            self.mayRetry = false
            self.status = Int(answer.status.code)
            self.keepAlive = answer.isKeepAlive
            let response = HTTPResponseHead(version: .http1_1, status: answer.status, headers: ReverseProxy.passedBackHeaders(answer.headers))
            self.fastPath.configuration.metrics.record(
                self.fastPath.configuration.metrics.series(path: self.admitted.path, method: self.admitted.head.method.rawValue),
                status: Int(answer.status.code), since: self.admitted.started)
            self.context.write(NIOAny(HTTPServerResponsePart.head(response)), promise: nil)
        case .body(let buffer):
            self.bytes += buffer.readableBytes
            self.context.write(NIOAny(HTTPServerResponsePart.body(.byteBuffer(buffer))), promise: nil)
        case .end:
            self.context.writeAndFlush(NIOAny(HTTPServerResponsePart.end(nil)), promise: nil)
            if let connection = self.connection {
                connection.setReading(true)
                if self.keepAlive { self.pool.release(connection) } else { connection.channel.close(promise: nil) }
            }
            self.connection = nil
            self.finish(status: self.status ?? 502)
        }
    }

    func upstreamReadComplete() {
        guard !self.done else { return }
        self.context.flush()
    }

    func upstreamFailed(_ error: any Error) {
        guard !self.done else { return }
        self.connection = nil
        if self.mayRetry, error is UpstreamConnection.Closed {
            // Closed by the upstream while it sat idle in the pool, as our request went out.
            self.mayRetry = false
            return self.send(retrying: true)
        }
        self.proxy.logger.warning("upstream request failed", metadata: ["error": .string("\(error)")])
        guard let status = self.status else { return self.fail(.badGateway, ReverseProxy.badGatewayMessage) }
        // Part of the answer is out: the client can only learn of the loss by the connection closing.
        self.context.close(promise: nil)
        self.finish(status: status)
    }

    /// The client's connection can take more (or not): the upstream is read accordingly.
    func clientWritable(_ writable: Bool) {
        self.connection?.setReading(writable)
    }

    /// The client's connection closed: the upstream connection, with part of an answer on it, goes too.
    func clientGone() {
        guard !self.done else { return }
        self.connection?.abandon()
        self.connection = nil
        self.finish(status: self.status ?? 502)
    }

    /// An answer of the gateway's own instead of the upstream's (before any of that was sent).
    private func fail(_ status: HTTPResponseStatus, _ message: String) {
        self.done = true
        self.fastPath.respond(self.admitted, status: status, fields: [("Content-Type", "text/plain; charset=utf-8")], body: message + "\n")
        self.fastPath.finished(self, context: self.context)
    }

    private func finish(status: Int) {
        self.done = true
        self.fastPath.log(self.admitted, status: status, bytes: self.bytes)
        self.fastPath.finished(self, context: self.context)
    }
}
