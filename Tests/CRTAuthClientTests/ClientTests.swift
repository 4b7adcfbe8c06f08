import AsyncHTTPClient
import AuthCore
import CRTAuth
@testable import CRTAuthClient
import CRTAuthHummingbird
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import SSHKeys
import Synchronization
import TestSupport
import Testing

/// Counts key lookups: two per handshake (challenge and token).
final class CountingProvider: KeyProvider {
    let inner: InMemoryKeyProvider
    let lookups = Mutex<Int>(0)
    init(inner: InMemoryKeyProvider) { self.inner = inner }
    func keys(for username: String) async throws -> KeyLookup {
        self.lookups.withLock { $0 += 1 }
        return try await self.inner.keys(for: username)
    }
}

final class Clock: Sendable {
    let seconds = Mutex<UInt64>(UInt64(Date().timeIntervalSince1970))
    var now: UInt64 { self.seconds.withLock { $0 } }
    func advance(_ delta: UInt64) { self.seconds.withLock { $0 += delta } }
}

/// Runs a Hummingbird app on an ephemeral loopback port for the duration of `body`.
func withServer<Context: RequestContext>(_ router: Router<Context>, _ body: @Sendable (Int) async throws -> Void) async throws where Context.Source == ApplicationRequestContextSource {
    let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
    var logger = Logger(label: "test")
    logger.logLevel = .error
    let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)), onServerRunning: { channel in
        continuation.yield(channel.localAddress?.port ?? 0)
    }, logger: logger)
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await app.runService(gracefulShutdownSignals: []) }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { return }
        try await body(port)
        group.cancelAll()
    }
}

struct Setup {
    let clock = Clock()
    let rsa: SSHPrivateKey
    let ed: SSHPrivateKey
    let provider: CountingProvider
    let server: AuthServerReference

    init(serverName: String = "127.0.0.1") throws {
        self.rsa = try SSHPrivateKey(generating: .rsa, rsaBits: 2048)
        self.ed = try SSHPrivateKey(generating: .ed25519)
        self.provider = CountingProvider(inner: InMemoryKeyProvider(keys: ["alice": [self.rsa.publicKey, self.ed.publicKey]]))
        self.server = AuthServerReference(try AuthServer(configuration: .init(serverName: serverName, secrets: [SymmetricKey(size: .bits256)]), keyProvider: self.provider))
    }

    func router() -> Router<CRTAuthRequestContext> {
        let router = Router(context: CRTAuthRequestContext.self)
        let clock = self.clock
        router.add(middleware: CRTAuthMiddleware(server: self.server, logger: Logger(label: "test"), clock: { clock.now }))
        router.get("/whoami") { _, context in try context.requireIdentity().username }
        return router
    }

    func client(signers: [any Signer], cache: TokenCache? = nil, version: CRTAuthVersion? = nil, timeout: TimeAmount = .seconds(10)) -> CRTAuthClient {
        let clock = self.clock
        return CRTAuthClient(configuration: .init(username: "alice", protocolVersion: version, tokenCache: cache, timeout: timeout), signers: .signers(signers), clock: { clock.now })
    }
}

func get(_ client: CRTAuthClient, _ url: String) async throws -> (Int, String) {
    let response = try await client.execute(HTTPClientRequest(url: url))
    return (Int(response.status.code), String(buffer: try await response.body.collect(upTo: 1 << 20)))
}

@Suite("CRTAuthClient against a live server")
struct ClientTests {
    @Test("v1 for RSA, v2 for Ed25519; the token is reused until just before it expires, then exactly one new handshake")
    func handshakeAndExpiry() async throws {
        let setup = try Setup()
        try await withServer(setup.router()) { port in
            for (signers, scheme) in [([setup.rsa] as [any Signer], "crtauth-v1"), ([setup.ed, setup.rsa], "crtauth-v2")] {
                let client = setup.client(signers: signers)
                let before = setup.provider.lookups.withLock { $0 }
                #expect(try await get(client, "http://127.0.0.1:\(port)/whoami") == (200, "alice"))
                #expect(try await client.token(for: "http://127.0.0.1:\(port)").scheme == scheme)
                for _ in 0..<5 { #expect(try await get(client, "http://127.0.0.1:\(port)/whoami").0 == 200) }
                #expect(setup.provider.lookups.withLock { $0 } - before == 2)
                // Past the token's life (60 s less the margin): one new handshake, no failed request.
                setup.clock.advance(56)
                #expect(try await get(client, "http://127.0.0.1:\(port)/whoami").0 == 200)
                #expect(try await get(client, "http://127.0.0.1:\(port)/whoami").0 == 200)
                #expect(setup.provider.lookups.withLock { $0 } - before == 4)
                try await client.shutdown()
            }
        }
    }

    @Test("20 concurrent requests from one client make one handshake")
    func concurrentRequests() async throws {
        let setup = try Setup()
        try await withServer(setup.router()) { port in
            let client = setup.client(signers: [setup.ed])
            try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<20 { group.addTask { try await get(client, "http://127.0.0.1:\(port)/whoami").0 } }
                for try await status in group { #expect(status == 200) }
            }
            #expect(setup.provider.lookups.withLock { $0 } == 2)
            try await client.shutdown()
        }
    }

    @Test("a server that forgot the token (a 401) gets one new handshake and the request is retried once")
    func retryOn401() async throws {
        let setup = try Setup()
        try await withServer(setup.router()) { port in
            let client = setup.client(signers: [setup.rsa])
            #expect(try await get(client, "http://127.0.0.1:\(port)/whoami").0 == 200)
            // Rotate the server's secret: the cached token is now refused.
            setup.server.replace(with: try AuthServer(configuration: .init(serverName: "127.0.0.1", secrets: [SymmetricKey(size: .bits256)]), keyProvider: setup.provider))
            #expect(try await get(client, "http://127.0.0.1:\(port)/whoami") == (200, "alice"))
            #expect(setup.provider.lookups.withLock { $0 } == 4)
            try await client.shutdown()
        }
    }

    @Test("the disk cache: shared between clients, files 0600; a corrupted file is ignored and replaced")
    func diskCache() async throws {
        let setup = try Setup()
        let dir = try TemporaryDirectory()
        let cache = TokenCache(directory: dir.file("cache"))
        try await withServer(setup.router()) { port in
            let first = setup.client(signers: [setup.ed], cache: cache)
            #expect(try await get(first, "http://127.0.0.1:\(port)/whoami").0 == 200)
            try await first.shutdown()
            let files = try FileManager.default.contentsOfDirectory(atPath: dir.file("cache"))
            #expect(files.count == 1)
            let path = dir.file("cache/" + files[0])
            var info = stat()
            #expect(stat(path, &info) == 0 && info.st_mode & 0o777 == 0o600)
            // A second process (a new client) uses the cached token: no handshake.
            let second = setup.client(signers: [setup.ed], cache: cache)
            #expect(try await get(second, "http://127.0.0.1:\(port)/whoami").0 == 200)
            #expect(setup.provider.lookups.withLock { $0 } == 2)
            try await second.shutdown()
            // Corrupted: ignored, a handshake, and the file is replaced with a good one.
            try "{not json".write(toFile: path, atomically: false, encoding: .utf8)
            let third = setup.client(signers: [setup.ed], cache: cache)
            #expect(try await get(third, "http://127.0.0.1:\(port)/whoami").0 == 200)
            #expect(setup.provider.lookups.withLock { $0 } == 4)
            #expect(cache.load(scheme: "http", host: "127.0.0.1", port: port, user: "alice") != nil)
            try await third.shutdown()
            // Readable by others: ignored.
            chmod(path, 0o644)
            #expect(cache.load(scheme: "http", host: "127.0.0.1", port: port, user: "alice") == nil)
        }
    }

    @Test("bad servers: another server name, 200 without X-CHAP, a malformed challenge, a server that never answers")
    func badServers() async throws {
        let setup = try Setup(serverName: "api.example.com")
        try await withServer(setup.router()) { port in
            let client = setup.client(signers: [setup.ed])
            await #expect(throws: CRTAuthClientError(.serverNameMismatch, "")) { try await get(client, "http://127.0.0.1:\(port)/whoami") }
            try await client.shutdown()
        }
        let router = Router()
        router.get("/_auth") { request, _ -> Response in
            if request.headers[values: HTTPField.Name("X-CHAP")!].first == "request:" + CRTAuthRequest(username: "alice", version: .v2).encoded {
                return Response(status: .ok, headers: [HTTPField.Name("X-CHAP")!: "challenge:AWPEnotachallenge"])
            }
            return Response(status: .ok)
        }
        try await withServer(router) { port in
            let v2 = setup.client(signers: [setup.ed])
            await #expect(throws: CRTAuthClientError(.notCrtauth, "")) { try await get(v2, "http://127.0.0.1:\(port)/x") }
            try await v2.shutdown()
            let v1 = setup.client(signers: [setup.rsa])
            let error = await #expect(throws: CRTAuthClientError.self) { try await get(v1, "http://127.0.0.1:\(port)/x") }
            #expect(error?.code == .notCrtauth && error?.message.contains("without an X-CHAP header") == true)
            try await v1.shutdown()
        }
        // Accepts connections, never answers: a timeout error after the deadline, no hang.
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) == 0 && getsockname(listener, $0, &length) == 0 } }
        listen(listener, 16)
        let silentPort = Int(UInt16(bigEndian: address.sin_port))
        let client = setup.client(signers: [setup.ed], timeout: .seconds(2))
        let start = ContinuousClock.now
        await #expect(throws: CRTAuthClientError(.timeout, "")) { try await get(client, "http://127.0.0.1:\(silentPort)/x") }
        #expect(ContinuousClock.now - start < .seconds(10))
        try await client.shutdown()
    }
}

@Suite("Server names from URLs")
struct ServerNameTests {
    @Test("the host is the server name: userinfo and port dropped, IPv6 brackets removed, case folded", arguments: [
        ("http://alice:secret@API.Example.com:8443/x?y=1", "api.example.com", 8443, "http://api.example.com:8443/_auth"),
        ("https://api.example.com/", "api.example.com", 443, "https://api.example.com:443/_auth"),
        ("http://[::1]:8080/whoami", "::1", 8080, "http://[::1]:8080/_auth"),
        ("http://127.0.0.1/", "127.0.0.1", 80, "http://127.0.0.1:80/_auth"),
    ])
    func names(url: String, host: String, port: Int, authURL: String) throws {
        let server = try Server(url: url)
        #expect(server.host == host && server.port == port && server.authURL == authURL)
    }

    @Test("URLs that are not http(s) are refused with a clear error", arguments: ["ftp://example.com/", "example.com", "http://", ""])
    func invalid(url: String) {
        #expect(throws: CRTAuthClientError(.invalidURL, "")) { try Server(url: url) }
    }
}
