import AsyncHTTPClient
import AuthCore
import Foundation
import Hummingbird
import NIOCore
import Prometheus

/// What operators and their tools ask the gateway: liveness, readiness, metrics. Served on the
/// admin listener (`--admin-listen`), or without one on the public listener as before
/// (`/healthz` then also checks the store).
enum OperatorEndpoints {
    /// Liveness: the process answers.
    static func alive() -> Response {
        self.json(.ok, #"{"status":"ok","version":"# + jsonStringLiteral(crtauthVersion) + "}")
    }

    /// The store's health (the public listener's `/healthz` without an admin listener).
    static func health(_ provider: any KeyProvider) async -> Response {
        let healthy = await self.storeIsHealthy(provider)
        let state = healthy ? #""status":"ok","store":"ok""# : #""status":"unavailable","store":"unreachable""#
        return self.json(healthy ? .ok : .serviceUnavailable, "{" + state + #","version":"# + jsonStringLiteral(crtauthVersion) + "}")
    }

    /// Readiness: the store answers, and the upstream (if any) answers HTTP at all within 2 s.
    static func ready(_ provider: any KeyProvider, upstream: (client: HTTPClient, url: String)?) async -> Response {
        let store = await self.storeIsHealthy(provider)
        var upstreamState = "none"
        if let upstream {
            var request = HTTPClientRequest(url: upstream.url)
            request.method = .HEAD
            let answered = (try? await upstream.client.execute(request, timeout: .seconds(2))) != nil
            upstreamState = answered ? "ok" : "unreachable"
        }
        let ready = store && upstreamState != "unreachable"
        return self.json(ready ? .ok : .serviceUnavailable,
                         #"{"status":"# + (ready ? #""ready""# : #""not-ready""#) + #","store":"# + (store ? #""ok""# : #""unreachable""#) + #","upstream":""# + upstreamState + #""}"#)
    }

    /// Prometheus' text format.
    static func metrics(_ registry: PrometheusCollectorRegistry) -> Response {
        var buffer = ByteBuffer()
        buffer.writeBytes(registry.emitToBuffer())
        return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"], body: .init(byteBuffer: buffer))
    }

    private static func storeIsHealthy(_ provider: any KeyProvider) async -> Bool {
        guard let store = provider as? any HealthChecking else { return true }
        return (try? await store.checkHealth()) != nil
    }

    private static func json(_ status: HTTPResponse.Status, _ object: String) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: object + "\n")))
    }
}
