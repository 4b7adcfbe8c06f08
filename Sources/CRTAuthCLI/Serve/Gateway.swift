import AsyncHTTPClient
import AuthCore
import CRTAuth
import Crypto
import CRTAuthHummingbird
import CRTAuthJWT
import CRTAuthSQLite
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdHTTP2
import Logging
import Metrics
import NIOCore
import NIOHTTP2
import NIOSSL
import Prometheus
import ServiceLifecycle
import UnixSignals

/// `crtauth serve`, assembled: secrets, key store, crtauth middleware, routes, proxy, metrics,
/// secret reloading and graceful shutdown.
struct Gateway {
    let settings: GatewaySettings

    func run() async throws {
        let settings = self.settings
        let errors = try LogDestination(.standardError)
        let logger = Logger(label: "crtauth") { _ in LineLogHandler(format: settings.logFormat, destination: errors, level: settings.logLevel) }
        let accessDestination = try settings.accessLog.map { try LogDestination($0) }
        let accessLogger = accessDestination.map { destination in
            Logger(label: "crtauth.access") { _ in LineLogHandler(format: settings.logFormat, destination: destination, level: .info) }
        }
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))

        // The certificate and the store before the secret: a start that cannot work leaves nothing behind.
        let certificates = try settings.tls.map { try TLSCertificates(certificate: $0.certificate, key: $0.key) }
        try makeDirectory(self.settings.dataDirectory)
        let provider = try await self.settings.store.makeProvider(logger: logger, passwordFile: self.settings.passwordFile)
        if try SecretFile.createIfMissing(self.settings.secretFile) {
            logger.notice("created a new secret file", metadata: ["path": .string(self.settings.secretFile)])
        }
        let secrets = try SecretFile.load(self.settings.secretFile)
        let server = AuthServerReference(try self.makeServer(secrets: secrets, provider: provider))

        var client: HTTPClient?
        var proxy: ReverseProxy?
        var tunnel: WebSocketTunnel?
        var pool: UpstreamConnectionPool?
        if let upstream = self.settings.upstream {
            var upstreamTLS = TLSConfiguration.makeClientConfiguration()
            upstreamTLS.minimumTLSVersion = .tlsv12
            if let path = self.settings.upstreamCA {
                do { upstreamTLS.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(path)) } catch {
                    throw CLIFailure(message: "cannot read the upstream CA certificates \(path) (PEM): \(error)")
                }
            }
            var upstreamConfiguration = HTTPClient.Configuration(
                tlsConfiguration: upstreamTLS,
                // A proxy passes redirects on to the client; following them here would send the
                // user's identity headers wherever the upstream points.
                redirectConfiguration: .disallow, timeout: .init(connect: .seconds(5), read: .seconds(Int64(settings.upstreamTimeout))))
            // An upstream that refuses connections is a 502 at once, as from nginx (and the fast
            // path), not after the client's connect timeout of retries: while the upstream was
            // down, every request the router proxied held its connection for 5 s.
            upstreamConfiguration.connectionPool.retryConnectionEstablishment = false
            let upstreamClient = HTTPClient(eventLoopGroupProvider: .singleton, configuration: upstreamConfiguration)
            client = upstreamClient
            do {
                let reverseProxy = try ReverseProxy(upstream: upstream, client: upstreamClient, logger: logger, configuration: .init(
                    trustedProxies: settings.trustedProxies, clientScheme: settings.externalScheme, responseTimeout: .seconds(settings.upstreamTimeout),
                    maximumBodyLength: Int64(settings.maxBody)))
                proxy = reverseProxy
                let upstreamContext = reverseProxy.endpoint.secure ? try NIOSSLContext(configuration: upstreamTLS) : nil
                tunnel = WebSocketTunnel(proxy: reverseProxy, tls: upstreamContext)
                pool = UpstreamConnectionPool(proxy: reverseProxy, tls: upstreamContext)
            } catch {
                try? await upstreamClient.shutdown()
                throw CLIFailure(message: "\(error)")
            }
        }

        let perRequest = try self.perRequestSchemes(provider: provider, logger: logger)
        // With an admin listener, the public one serves neither health nor metrics: those
        // paths are the upstream's like any other.
        let separateAdmin = settings.adminListen != nil
        let localPaths = ["/.well-known/jwks.json"] + (separateAdmin ? [] : ["/healthz", "/metrics"])
        let router = Router(context: CRTAuthRequestContext.self)
        if let accessLogger { router.add(middleware: AccessLogMiddleware(logger: accessLogger)) }
        let metrics = RequestMetrics(routes: Set(localPaths + ["/_auth", "/_auth/check"] + (proxy == nil ? ["/whoami"] : [])), proxying: proxy != nil)
        router.add(middleware: RequestMetricsMiddleware(metrics: metrics))
        // A signed body is read to be checked: --max-body bounds that too.
        let authentication = CRTAuthMiddleware<CRTAuthRequestContext>.Configuration(
            exemptPaths: localPaths + settings.publicPaths.map { $0.hasSuffix("/") ? $0 + "*" : $0 }, schemes: settings.schemes,
            maximumSignedBodyLength: min(settings.maxBody, CRTAuthMiddleware<CRTAuthRequestContext>.Configuration().maximumSignedBodyLength),
            externalScheme: settings.externalScheme)
        let authenticator = CRTAuthMiddleware<CRTAuthRequestContext>(server: server, configuration: authentication, perRequest: perRequest, logger: logger)
        router.add(middleware: authenticator)
        // Requests with a token and handshakes skip the router: chap decides first whenever it is on.
        let fastPath = settings.schemes.contains(.chap) ? GatewayFastPath.Configuration(
            chap: ChapTokenAuthenticator(server: { server.current }), authentication: authenticator, clock: { UInt64(Date().timeIntervalSince1970) },
            handshakePath: authentication.handshakePath, routerPaths: ExemptPaths(authentication.exemptPaths),
            upstream: pool.map { .proxy($0) } ?? .none,
            accessLogger: accessLogger, metrics: metrics) : nil
        router.add(middleware: GatewayMiddleware(proxy: proxy, tunnel: tunnel, localPaths: Set(localPaths)))
        let jwksDocument = JSONWebKeySet.document(publishing: settings.publishedKeys)
        router.get("/.well-known/jwks.json") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json", .cacheControl: "max-age=300"], body: .init(byteBuffer: ByteBuffer(string: jwksDocument)))
        }
        if !separateAdmin {
            router.get("/healthz") { _, _ in await OperatorEndpoints.health(provider) }
            router.get("/metrics") { _, _ in OperatorEndpoints.metrics(registry) }
        }
        if proxy == nil {
            router.get("/whoami") { _, context in GatewayMiddleware.whoami(try context.requireIdentity()) }
            router.post("/whoami") { _, context in GatewayMiddleware.whoami(try context.requireIdentity()) }
        }
        var services: [any Service] = []
        if let (host, port) = settings.adminListen {
            let admin = Router()
            admin.get("/healthz") { _, _ in OperatorEndpoints.alive() }
            let upstream = client.flatMap { client in settings.upstream.map { (client, $0) } }
            admin.get("/readyz") { _, _ in await OperatorEndpoints.ready(provider, upstream: upstream) }
            admin.get("/metrics") { _, _ in OperatorEndpoints.metrics(registry) }
            services.append(Application(
                router: admin, configuration: .init(address: .hostname(host, port: port), serverName: nil),
                onServerRunning: { channel in
                    let address = channel.localAddress.map { "\($0.ipAddress ?? host):\($0.port ?? port)" } ?? "\(host):\(port)"
                    FileHandle.standardOutput.write(Data("crtauth serve \(crtauthVersion): admin listening on http://\(address) (/healthz, /readyz, /metrics)\n".utf8))
                },
                logger: logger))
        }

        let scheme = certificates == nil ? "http" : "https"
        if certificates == nil, settings.listensBeyondLoopback {
            logger.warning("serving plain HTTP on \(settings.listenDescription): tokens and signatures cross the network readable; serve HTTPS with --tls-cert and --tls-key, or put a TLS proxy in front and listen on 127.0.0.1")
        }
        let bindAddress: BindAddress
        switch settings.listen {
        case .tcp(let host, let port):
            bindAddress = .hostname(host, port: port)
        case .unix(let path):
            // A socket file left by an earlier run is replaced; anything else there stays.
            if Self.isSocket(path) == false {
                throw CLIFailure(message: "--listen unix:\(path): that path exists and is not a socket; remove it or choose another")
            }
            bindAddress = .unixDomainSocket(path: path)
        }
        let app = Application(
            router: router,
            server: try self.serverBuilder(certificates, fastPath: fastPath),
            configuration: .init(address: bindAddress, serverName: nil),
            onServerRunning: { channel in
                let address = switch settings.listen {
                case .tcp(let host, let port): scheme + "://" + (channel.localAddress.map { "\($0.ipAddress ?? host):\($0.port ?? port)" } ?? "\(host):\(port)")
                case .unix(let path): "unix:" + path
                }
                // Connecting takes write permission: the gateway's group may (nginx's user joins it), others not.
                if case .unix(let path) = settings.listen { chmod(path, 0o660) }
                // Scripts and tests read this line to learn the port.
                FileHandle.standardOutput.write(Data("crtauth serve \(crtauthVersion): listening on \(address) (server name \(settings.serverName), store \(settings.store), schemes \(settings.schemes.map(\.rawValue).sorted().joined(separator: ",")))\n".utf8))
            },
            logger: logger
        )
        var watched = [ReloadWatcher.Watched(name: "secrets", paths: [settings.secretFile]) {
            server.replace(with: try self.makeServer(secrets: try SecretFile.load(settings.secretFile), provider: provider))
        }]
        if let accessDestination { watched.append(.init(name: "access log", paths: [], reload: accessDestination.reopen)) }
        if let certificates { watched.append(.init(name: "TLS certificate", paths: [certificates.certificatePath, certificates.keyPath], reload: certificates.reload)) }
        let watcher = ReloadWatcher(watched: watched, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [app, watcher] + services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        defer {
            // The socket file goes with the listener, as nginx's does (and only a socket file).
            if case .unix(let path) = settings.listen, Self.isSocket(path) == true { unlink(path) }
        }
        do {
            try await group.run()
        } catch {
            try? await client?.shutdown()
            try? await perRequest?.jwks?.shutdown()
            throw CLIFailure(message: "\(error)")
        }
        try? await client?.shutdown()
        try? await perRequest?.jwks?.shutdown()
    }

    /// Whether `path` is a socket; nil when nothing is there.
    static func isSocket(_ path: String) -> Bool? {
        var status = stat()
        guard lstat(path, &status) == 0 else { return nil }
        return status.st_mode & S_IFMT == S_IFSOCK
    }

    /// Longest request head (request line and header fields together) read; longer is a 431.
    static let maximumHeadLength = 16 * 1024
    /// Most header fields in one request; more is a 431.
    static let maximumHeaderFields = 100

    /// HTTP/1.1, or HTTPS with HTTP/2 by ALPN, guarded against clients that hold connections:
    /// head deadline, idle timeout, connection limit, head size.
    func serverBuilder(_ certificates: TLSCertificates?, fastPath: GatewayFastPath.Configuration?) throws -> HTTPServerBuilder {
        let limit = ConnectionLimit(maximum: self.settings.maxConnections)
        let limits = GatewayHTTP1Channel.Limits(
            headTimeout: .seconds(Int64(self.settings.headerTimeout)), idleTimeout: .seconds(Int64(self.settings.idleTimeout)),
            maximumHeadLength: Self.maximumHeadLength, maximumHeaderFields: Self.maximumHeaderFields)
        guard let certificates else {
            return HTTPServerBuilder { responder in
                ConnectionLimitedChannel(base: GatewayHTTP1Channel(responder: responder, limits: limits, fastPath: fastPath), limit: limit)
            }
        }
        var tls = certificates.configuration
        tls.applicationProtocols = NIOHTTP2SupportedALPNProtocols
        let context = try NIOSSLContext(configuration: tls)
        let http2 = HTTP2Channel.Configuration(idleTimeout: .seconds(self.settings.idleTimeout))
        return HTTPServerBuilder { responder in
            ConnectionLimitedChannel(base: SecureGatewayChannel(
                tls: context, http1: GatewayHTTP1Channel(responder: responder, limits: limits, fastPath: fastPath),
                http2: HTTP2Channel(responder: responder, configuration: http2)), limit: limit)
        }
    }

    /// The key store and replay store of the per-request schemes: nonces live in the SQLite
    /// database next to the keys (shared by every process using it), else in memory.
    func perRequestSchemes(provider: any KeyProvider, logger: Logger) throws -> PerRequestSchemes? {
        let schemes = self.settings.schemes
        guard !schemes.isDisjoint(with: [.jwt, .signature, .serveradmin]) else { return nil }
        if !schemes.isDisjoint(with: [.signature, .serveradmin]), !(provider is any KeyOwnerLookup) {
            throw CLIFailure(message: "--schemes signature and serveradmin need a store that finds keys by fingerprint (sqlite: or postgres://), not \(self.settings.store)")
        }
        let nonces: any NonceStore
        if let shared = provider as? any NonceStore {
            // A store that keeps nonces itself (PostgreSQL) shares them among gateways.
            nonces = shared
        } else if case .sqlite(let path) = self.settings.store {
            do { nonces = try SQLiteNonceStore(path: path) } catch { throw CLIFailure(message: "\(error)") }
        } else {
            nonces = InMemoryNonceStore()
        }
        // Users' trusted JWKS documents, when the store can name them.
        let jwks = schemes.contains(.jwt) && provider is any JWKSTrustLookup ? JWKSCache(logger: logger) : nil
        return PerRequestSchemes(keys: provider, nonces: nonces, jwks: jwks)
    }

    func makeServer(secrets: [SymmetricKey], provider: any KeyProvider) throws -> AuthServer {
        do {
            return try AuthServer(configuration: .init(serverName: self.settings.serverName, secrets: secrets, tokenFormat: self.settings.tokenFormat, tokenLifetime: self.settings.tokenLifetime), keyProvider: provider)
        } catch let error as CRTAuthError {
            throw CLIFailure(message: error.message)
        }
    }
}

/// After authentication: `/_auth/check` for nginx, and the proxy for everything else when an
/// upstream is configured.
struct GatewayMiddleware: RouterMiddleware {
    typealias Context = CRTAuthRequestContext
    let proxy: ReverseProxy?
    /// Opens upstream connections for requests that switch protocols (with `proxy`).
    let tunnel: WebSocketTunnel?
    /// Paths the gateway answers itself rather than proxying.
    let localPaths: Set<String>

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        if path == "/_auth/check" {
            // Any method: nginx's auth_request subrequest keeps the original one.
            guard let identity = context.identity else { return try await next(request, context) }
            var response = Response(status: .ok, headers: [.contentLength: "0"])
            for field in ReverseProxy.identityFields(identity) { response.headers[field.name] = field.value }
            return response
        }
        // Requests without an identity here are for a --public-path (the middleware refused the rest).
        if let proxy, !self.localPaths.contains(path) {
            if let tunnel = self.tunnel, await WebSocketTunnel.wanted(request, on: context.channel) {
                return await tunnel.open(request, identity: context.identity, peer: context.remoteAddress, channel: context.channel)
            }
            return await proxy.forward(request, identity: context.identity, peer: context.remoteAddress)
        }
        return try await next(request, context)
    }

    /// `{"key":…,"scheme":…,"user":…}` (`key` only when the request proved one). Written by
    /// hand: this answers every request of a gateway without an upstream.
    static func whoami(_ identity: AuthenticatedIdentity) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: Self.whoamiJSON(identity))))
    }

    static func whoamiJSON(_ identity: AuthenticatedIdentity) -> String {
        var json = "{"
        if let key = identity.keyFingerprint { json += #""key":"# + jsonStringLiteral(key) + "," }
        return json + #""scheme":"# + jsonStringLiteral(identity.scheme.name) + #","user":"# + jsonStringLiteral(identity.username) + "}\n"
    }
}

/// Reloads files the gateway runs with (the secrets, the TLS certificate and key) on SIGHUP
/// and when one of them changes (checked every two seconds). A file that no longer loads
/// leaves the running values in place and is reported.
struct ReloadWatcher: Service {
    struct Watched: Sendable {
        /// What is reloaded, for the log.
        let name: String
        let paths: [String]
        let reload: @Sendable () throws -> Void
    }

    static let pollInterval: Duration = .seconds(2)
    let watched: [Watched]
    let logger: Logger

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        let watched = self.watched, logger = self.logger
        @Sendable func reload(_ item: Watched, _ why: String) {
            do {
                try item.reload()
                logger.notice("\(item.name) reloaded", metadata: ["trigger": .string(why)])
            } catch {
                logger.error("\(item.name) not reloaded; keeping the current ones", metadata: ["error": .string("\(error)")])
            }
        }
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await _ in signals { for item in watched { reload(item, "SIGHUP") } }
                }
                group.addTask {
                    var last = watched.map { $0.paths.map(SecretFile.stamp) }
                    while !Task.isCancelled {
                        try? await Task.sleep(for: Self.pollInterval)
                        let now = watched.map { $0.paths.map(SecretFile.stamp) }
                        for (index, item) in watched.enumerated() where now[index] != last[index] && !now[index].contains(nil) {
                            reload(item, "file changed")
                        }
                        last = now
                    }
                }
                await group.next()
                group.cancelAll()
            }
        }
    }
}
