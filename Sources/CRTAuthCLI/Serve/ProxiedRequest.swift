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
    private let pool: UpstreamConnectionPool
    /// The idle upstream connections of this event loop.
    private let idle: UpstreamConnectionPool.IdleConnections
    /// The request as the upstream gets it, in its wire form.
    private let request: ByteBuffer
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

    init(_ admitted: GatewayFastPath.Admitted, identity: AuthenticatedIdentity, pool: UpstreamConnectionPool, idle: UpstreamConnectionPool.IdleConnections,
         client: ReverseProxy.Client, fastPath: GatewayFastPath, context: ChannelHandlerContext) {
        self.admitted = admitted
        self.pool = pool
        self.idle = idle
        self.fastPath = fastPath
        self.context = context
        let head = admitted.head
        var request = HTTPFieldLines(buffer: context.channel.allocator.buffer(capacity: 256 + 64 * head.headers.count))
        request.buffer.writeString(head.method.rawValue)
        request.buffer.writeInteger(UInt8(ascii: " "))
        request.buffer.writeString(pool.proxy.endpoint.basePath)
        request.buffer.writeString(head.uri)
        request.buffer.writeStaticString(" HTTP/1.1\r\n")
        pool.proxy.addUpstreamFields(of: head, identity: identity, client: client, to: &request)
        request.add(name: "Host", value: pool.proxy.endpoint.authority)
        request.buffer.writeStaticString("\r\n")
        self.request = request.buffer
        self.deadline = .now() + pool.responseTimeout
    }

    /// When the answer's head must have come (``GatewayFastPath`` keeps the timer).
    let deadline: NIODeadline

    func start() { self.send(retrying: false) }

    /// No answer head by ``deadline``: 504.
    func timedOut() {
        guard !self.done, self.status == nil else { return }
        self.connection?.abandon()
        self.connection = nil
        self.pool.proxy.logger.warning("upstream did not answer in time", metadata: ["timeout": .string("\(self.pool.proxy.configuration.responseTimeout)")])
        self.fail(.gatewayTimeout, ReverseProxy.gatewayTimeoutMessage)
    }

    private func send(retrying: Bool) {
        if let connection = self.idle.take() {
            return self.send(on: connection, reused: true, retrying: retrying)
        }
        self.pool.connect(on: self.context.eventLoop, home: self.idle).assumeIsolated().whenComplete { [self] result in
            switch result {
            case .success(let connection):
                guard !self.done else { return self.pool.release(connection) }
                self.send(on: connection, reused: false, retrying: retrying)
            case .failure(let error):
                guard !self.done else { return }
                self.pool.proxy.logger.warning("upstream request failed", metadata: ["error": .string("\(error)")])
                self.fail(.badGateway, ReverseProxy.badGatewayMessage)
            }
        }
    }

    private func send(on connection: UpstreamConnection, reused: Bool, retrying: Bool) {
        self.mayRetry = reused && !retrying
        guard connection.channel.isActive else { return self.upstreamFailed(UpstreamConnection.Closed()) }
        self.connection = connection
        if !self.context.channel.isWritable { connection.setReading(false) }
        connection.send(self.request, method: self.admitted.head.method, to: self)
    }

    func upstreamPart(_ part: HTTPClientResponsePart) {
        guard !self.done else { return }
        switch part {
        case .head(var answer):
            self.mayRetry = false
            self.status = Int(answer.status.code)
            self.keepAlive = answer.isKeepAlive
            self.fastPath.configuration.metrics.record(
                self.fastPath.configuration.metrics.series(path: self.admitted.path, method: self.admitted.head.method.rawValue),
                status: Int(answer.status.code), since: self.admitted.started)
            // Passed back as this server's answer: HTTP/1.1, framed here.
            if answer.version != .http1_1 { answer.version = .http1_1 }
            self.fastPath.connection.passBack(.head(answer), dropping: ReverseProxy.AnswerFieldsDropped(answer.headers))
        case .body(let buffer):
            self.bytes += buffer.readableBytes
            self.fastPath.connection.passBack(.body(.byteBuffer(buffer)), dropping: nil)
        case .end:
            self.fastPath.connection.passBack(.end(nil), dropping: nil)
            self.context.flush()
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
        self.pool.proxy.logger.warning("upstream request failed", metadata: ["error": .string("\(error)")])
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
