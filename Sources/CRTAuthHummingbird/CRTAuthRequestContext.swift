import AuthCore
import CRTAuth
import Hummingbird
import HummingbirdAuth
import NIOCore

/// A request context carrying the caller's identity once a middleware of this module has
/// authenticated it, and the peer address for the audit log.
public struct CRTAuthRequestContext: AuthRequestContext, RemoteAddressRequestContext, RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Who made the request, with which key and scheme; `nil` before authentication.
    public var identity: AuthenticatedIdentity?
    public let remoteAddress: SocketAddress?
    /// The connection the request came on (the gateway takes it over for WebSocket tunnels).
    package let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.identity = nil
        self.remoteAddress = source.channel.remoteAddress
        self.channel = source.channel
    }
}
