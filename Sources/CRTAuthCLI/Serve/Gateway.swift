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
import Logging
import Metrics
import NIOCore
import Prometheus
import ServiceLifecycle
import UnixSignals

/// `crtauth serve`, assembled: secrets, key store, crtauth middleware, routes, proxy, metrics,
/// secret reloading and graceful shutdown.
struct Gateway {
    let settings: GatewaySettings

    func run() async throws {
        var logger = Logger(label: "crtauth")
        logger.logLevel = self.settings.logLevel
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))

        try makeDirectory(self.settings.dataDirectory)
        // The store before the secret: a store that cannot work stops the start before a secret is made.
        let provider = try await self.settings.store.makeProvider(logger: logger)
        if try SecretFile.createIfMissing(self.settings.secretFile) {
            logger.notice("created a new secret file", metadata: ["path": .string(self.settings.secretFile)])
        }
        let secrets = try SecretFile.load(self.settings.secretFile)
        let server = AuthServerReference(try self.makeServer(secrets: secrets, provider: provider))

        var client: HTTPClient?
        var proxy: ReverseProxy?
        if let upstream = self.settings.upstream {
            let upstreamClient = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(
                // A proxy passes redirects on to the client; following them here would send the
                // user's identity headers wherever the upstream points.
                redirectConfiguration: .disallow, timeout: .init(connect: .seconds(5), read: .seconds(300))))
            client = upstreamClient
            do {
                proxy = try ReverseProxy(upstream: upstream, client: upstreamClient, logger: logger)
            } catch {
                try? await upstreamClient.shutdown()
                throw CLIFailure(message: "\(error)")
            }
        }

        let perRequest = try self.perRequestSchemes(provider: provider, logger: logger)
        let router = Router(context: CRTAuthRequestContext.self)
        router.add(middleware: MetricsMiddleware())
        router.add(middleware: CRTAuthMiddleware(
            server: server,
            configuration: .init(exemptPaths: ["/healthz", "/metrics", "/.well-known/jwks.json"], schemes: self.settings.schemes, externalScheme: self.settings.externalScheme),
            perRequest: perRequest, logger: logger))
        router.add(middleware: GatewayMiddleware(proxy: proxy))
        router.get("/healthz") { _, _ in await Self.health(provider) }
        let jwksDocument = JSONWebKeySet.document(publishing: self.settings.publishedKeys)
        router.get("/.well-known/jwks.json") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json", .cacheControl: "max-age=300"], body: .init(byteBuffer: ByteBuffer(string: jwksDocument)))
        }
        router.get("/metrics") { _, _ in
            var buffer = ByteBuffer()
            buffer.writeBytes(registry.emitToBuffer())
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"], body: .init(byteBuffer: buffer))
        }
        if proxy == nil {
            router.get("/whoami") { _, context in GatewayMiddleware.whoami(try context.requireIdentity()) }
            router.post("/whoami") { _, context in GatewayMiddleware.whoami(try context.requireIdentity()) }
        }

        let settings = self.settings
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: nil),
            onServerRunning: { channel in
                let address = channel.localAddress.map { "\($0.ipAddress ?? settings.host):\($0.port ?? settings.port)" } ?? "\(settings.host):\(settings.port)"
                // Scripts and tests read this line to learn the port.
                FileHandle.standardOutput.write(Data("crtauth serve \(crtauthVersion): listening on http://\(address) (server name \(settings.serverName), store \(settings.store), schemes \(settings.schemes.map(\.rawValue).sorted().joined(separator: ",")))\n".utf8))
            },
            logger: logger
        )
        let watcher = SecretWatcher(path: settings.secretFile, logger: logger) { secrets in
            server.replace(with: try self.makeServer(secrets: secrets, provider: provider))
        }
        let group = ServiceGroup(configuration: .init(services: [app, watcher], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
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

    static func health(_ provider: any KeyProvider) async -> Response {
        var healthy = true
        if let store = provider as? any HealthChecking {
            healthy = (try? await store.checkHealth()) != nil
        }
        let state = healthy ? #""status":"ok","store":"ok""# : #""status":"unavailable","store":"unreachable""#
        let buffer = ByteBuffer(string: "{" + state + #","version":"# + jsonStringLiteral(crtauthVersion) + "}\n")
        return Response(status: healthy ? .ok : .serviceUnavailable, headers: [.contentType: "application/json"], body: .init(byteBuffer: buffer))
    }
}

/// After authentication: `/_auth/check` for nginx, and the proxy for everything else when an
/// upstream is configured.
struct GatewayMiddleware: RouterMiddleware {
    typealias Context = CRTAuthRequestContext
    let proxy: ReverseProxy?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        if path == "/_auth/check" {
            // Any method: nginx's auth_request subrequest keeps the original one.
            guard let identity = context.identity else { return try await next(request, context) }
            var response = Response(status: .ok, headers: [.contentLength: "0"])
            for (name, value) in Self.identityFields(identity) { response.headers[name] = value }
            return response
        }
        if let proxy, let identity = context.identity, path != "/healthz", path != "/metrics" {
            return await proxy.forward(request, identity: identity, peer: context.remoteAddress)
        }
        return try await next(request, context)
    }

    static func identityFields(_ identity: AuthenticatedIdentity) -> [(HTTPField.Name, String)] {
        var fields: [(HTTPField.Name, String)] = [(ReverseProxy.identityHeaders[0], identity.username)]
        if let key = identity.keyFingerprint { fields.append((ReverseProxy.identityHeaders[1], key)) }
        fields.append((ReverseProxy.identityHeaders[2], identity.scheme.name))
        return fields
    }

    /// `{"key":…,"scheme":…,"user":…}` (`key` only when the request proved one). Written by
    /// hand: this answers every request of a gateway without an upstream.
    static func whoami(_ identity: AuthenticatedIdentity) -> Response {
        var json = "{"
        if let key = identity.keyFingerprint { json += #""key":"# + jsonStringLiteral(key) + "," }
        json += #""scheme":"# + jsonStringLiteral(identity.scheme.name) + #","user":"# + jsonStringLiteral(identity.username) + "}\n"
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: json)))
    }
}

/// Reloads the secrets on SIGHUP and when the file changes (checked every two seconds). A file
/// that no longer loads leaves the running secrets in place and is reported.
struct SecretWatcher: Service {
    static let pollInterval: Duration = .seconds(2)
    let path: String
    let logger: Logger
    let apply: @Sendable ([SymmetricKey]) throws -> Void

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        let path = self.path, logger = self.logger, apply = self.apply
        @Sendable func reload(_ why: String) {
            do {
                try apply(try SecretFile.load(path))
                logger.notice("secrets reloaded", metadata: ["trigger": .string(why)])
            } catch {
                logger.error("secrets not reloaded; keeping the current ones", metadata: ["error": .string("\(error)")])
            }
        }
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await _ in signals { reload("SIGHUP") }
                }
                group.addTask {
                    var last = SecretFile.stamp(path)
                    while !Task.isCancelled {
                        try? await Task.sleep(for: Self.pollInterval)
                        let now = SecretFile.stamp(path)
                        if now != last, now != nil { reload("file changed") }
                        last = now
                    }
                }
                await group.next()
                group.cancelAll()
            }
        }
    }
}
