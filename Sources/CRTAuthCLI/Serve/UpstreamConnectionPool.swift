import CRTAuthHummingbird
import NIOCore
import NIOHTTP1
import NIOSSL

/// Keep-alive HTTP/1.1 connections to the upstream, kept per event loop. A request borrows one
/// on its client connection's event loop, so that both are served by one thread without locks
/// or hops, and gives it back once the answer has ended and both sides keep it alive. An idle
/// connection waits for a read, so an upstream that closes it is noticed at once, and is
/// closed after ``idleTimeout``.
///
/// Written on NIO rather than AsyncHTTPClient: its pool answers on its own terms (a task, a
/// URL parsed and headers copied per request), which cost more than authentication does.
final class UpstreamConnectionPool: Sendable {
    /// Idle connections kept per event loop; one given back beyond this is closed.
    static let maximumIdlePerEventLoop = 128
    /// An idle connection is closed after this (upstreams close theirs after 5 to 75 s; a
    /// request that finds one closed just then is sent again when it has no body).
    static let idleTimeout = TimeAmount.seconds(50)

    /// The header rules, the upstream's address and the response timeout.
    let proxy: ReverseProxy
    /// For an `https://` upstream.
    let tls: NIOSSLContext?
    /// Each event loop's idle connections (``idleConnections(of:)``).
    private let idle = EventLoopLocal { IdleConnections() }

    /// One event loop's idle connections, most recently used last. Used on its loop only.
    final class IdleConnections: @unchecked Sendable {
        fileprivate var connections: [UpstreamConnection] = []

        /// An idle connection that is still open, if any.
        func take() -> UpstreamConnection? {
            while let connection = self.connections.popLast() {
                if connection.leave() { return connection }
            }
            return nil
        }

        /// The connection on `channel` closed while idle.
        func remove(_ channel: any Channel) { self.connections.removeAll { $0.channel === channel } }
    }

    /// How long the upstream may take to send an answer's head.
    let responseTimeout: TimeAmount

    init(proxy: ReverseProxy, tls: NIOSSLContext?) {
        self.proxy = proxy
        self.tls = tls
        self.responseTimeout = TimeAmount(proxy.configuration.responseTimeout)
    }

    /// The idle connections of `eventLoop` (looked up once per client connection).
    func idleConnections(of eventLoop: any EventLoop) -> IdleConnections { self.idle.value(on: eventLoop) }

    /// A new connection on `eventLoop`, which goes back to `home` (that loop's list) when released.
    func connect(on eventLoop: any EventLoop, home: IdleConnections) -> EventLoopFuture<UpstreamConnection> {
        self.proxy.endpoint.connect(on: eventLoop, tls: self.tls) { channel in
            let decoder = HTTPResponseDecoder(leftOverBytesStrategy: .dropBytes)
            try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(decoder))
            try channel.pipeline.syncOperations.addHandler(UpstreamConnection.Reader(decoder: decoder))
        }.flatMapThrowing { channel in
            try UpstreamConnection(channel: channel, home: home)
        }
    }

    /// Takes `connection` back after an exchange that left it clean (call on its event loop).
    func release(_ connection: UpstreamConnection) {
        guard connection.home.connections.count < Self.maximumIdlePerEventLoop else { return connection.channel.close(promise: nil) }
        connection.home.connections.append(connection)
        connection.wait(closingAfter: Self.idleTimeout)
    }
}
