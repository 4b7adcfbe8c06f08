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
    private let idle = Mutex<[ObjectIdentifier: [UpstreamConnection]]>([:])

    init(endpoint: ReverseProxy.Endpoint, tls: NIOSSLContext?) {
        self.endpoint = endpoint
        self.tls = tls
    }

    /// An idle connection of `eventLoop` (`reused`), or a new one. Call on `eventLoop`.
    func lease(on eventLoop: any EventLoop) -> EventLoopFuture<(connection: UpstreamConnection, reused: Bool)> {
        let key = ObjectIdentifier(eventLoop)
        while let connection = self.idle.withLock({ $0[key]?.popLast() }) {
            if connection.leave() { return eventLoop.makeSucceededFuture((connection, true)) }
        }
        return self.endpoint.connect(on: eventLoop, tls: self.tls) { channel in
            try channel.pipeline.syncOperations.addHandler(UpstreamConnection.Reader())
        }.flatMapThrowing { channel in
            (try UpstreamConnection(channel: channel), false)
        }
    }

    /// Takes `connection` back after an exchange that left it clean (call on its event loop).
    func release(_ connection: UpstreamConnection) {
        let key = ObjectIdentifier(connection.channel.eventLoop)
        let kept = self.idle.withLock { idle in
            guard idle[key, default: []].count < Self.maximumIdlePerEventLoop else { return false }
            idle[key, default: []].append(connection)
            return true
        }
        guard kept else { return connection.channel.close(promise: nil) }
        connection.wait(closingAfter: Self.idleTimeout) { [weak self] in
            self?.idle.withLock { idle in idle[key]?.removeAll { $0 === connection } }
        }
    }
}
