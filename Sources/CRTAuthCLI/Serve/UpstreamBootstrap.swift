import CRTAuthHummingbird
import NIOCore
import NIOPosix
import NIOSSL

extension ReverseProxy.Endpoint {
    /// Longest wait for the upstream to accept a connection.
    static let connectTimeout = TimeAmount.seconds(5)

    /// A new connection to the upstream on `eventLoop`: TLS (SNI for a name, never for an
    /// address) when `tls` is given, then what `configure` adds (the HTTP handlers).
    func connect(on eventLoop: any EventLoop, tls: NIOSSLContext?, configure: @escaping @Sendable (any Channel) throws -> Void) -> EventLoopFuture<any Channel> {
        let host = self.host
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(Self.connectTimeout)
            .channelOption(.allowRemoteHalfClosure, value: true)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: tls, serverHostname: host.isIPAddress ? nil : host))
                    }
                    try configure(channel)
                }
            }
        // An address needs no resolver: NIO's runs getaddrinfo on its thread pool for every
        // connection, which a burst of new upstream connections then waits in line for.
        if let address = try? SocketAddress(ipAddress: host, port: self.port) { return bootstrap.connect(to: address) }
        return bootstrap.connect(host: host, port: self.port)
    }
}
