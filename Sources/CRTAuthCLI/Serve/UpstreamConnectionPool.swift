import CRTAuthHummingbird
import NIOCore
import NIOSSL
import Synchronization

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

    let endpoint: ReverseProxy.Endpoint
    /// For an `https://` upstream.
    let tls: NIOSSLContext?
    /// Each event loop's idle connections; a loop's list is used on that loop only.
    private let idle = Mutex<[ObjectIdentifier: IdleConnections]>([:])

    /// One event loop's idle connections, most recently used last.
    final class IdleConnections: @unchecked Sendable {
        var connections: [UpstreamConnection] = []
    }

    init(endpoint: ReverseProxy.Endpoint, tls: NIOSSLContext?) {
        self.endpoint = endpoint
        self.tls = tls
    }

    private func idleConnections(of eventLoop: any EventLoop) -> IdleConnections {
        let key = ObjectIdentifier(eventLoop)
        return self.idle.withLock { idle in
            if let list = idle[key] { return list }
            let list = IdleConnections()
            idle[key] = list
            return list
        }
    }

    /// An idle connection of `eventLoop` that is still open, if any. Call on `eventLoop`.
    func idleConnection(on eventLoop: any EventLoop) -> UpstreamConnection? {
        let list = self.idleConnections(of: eventLoop)
        while let connection = list.connections.popLast() {
            if connection.leave() { return connection }
        }
        return nil
    }

    /// A new connection on `eventLoop`.
    func connect(on eventLoop: any EventLoop) -> EventLoopFuture<UpstreamConnection> {
        self.endpoint.connect(on: eventLoop, tls: self.tls) { channel in
            try channel.pipeline.syncOperations.addHandler(UpstreamConnection.Reader())
        }.flatMapThrowing { channel in
            try UpstreamConnection(channel: channel)
        }
    }

    /// Takes `connection` back after an exchange that left it clean (call on its event loop).
    func release(_ connection: UpstreamConnection) {
        let list = self.idleConnections(of: connection.channel.eventLoop)
        guard list.connections.count < Self.maximumIdlePerEventLoop else { return connection.channel.close(promise: nil) }
        list.connections.append(connection)
        connection.wait(closingAfter: Self.idleTimeout) { [weak list] in
            list?.connections.removeAll { $0 === connection }
        }
    }
}
