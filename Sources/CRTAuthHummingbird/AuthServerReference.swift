import CRTAuth
import Synchronization

/// The current ``AuthServer`` of a running service, replaceable while requests are in flight
/// (secret rotation without a restart). Each request works with the server it read at its start.
public final class AuthServerReference: Sendable {
    private let server: Mutex<AuthServer>

    public init(_ server: AuthServer) { self.server = Mutex(server) }

    public var current: AuthServer { self.server.withLock { $0 } }

    public func replace(with server: AuthServer) { self.server.withLock { $0 = server } }
}
