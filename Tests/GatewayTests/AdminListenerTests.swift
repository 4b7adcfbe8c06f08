import Foundation
import TestSupport
import Testing

/// `crtauth serve --admin-listen`: liveness, readiness and metrics on a listener of their own;
/// the public listener then proxies those paths like any other. Metric names follow
/// Prometheus' conventions and labels never take a client's path or method as they come.
@Suite("crtauth serve admin listener and metrics")
struct AdminListenerTests {
    @Test("/healthz, /readyz (store and upstream) and /metrics on the admin port; the public /healthz goes upstream after authentication")
    func adminListener() throws {
        let enrolled = try GatewayTests.Enrolled()
        let upstream = try EchoUpstream(enrolled.dir)
        defer { upstream.child.stop() }
        let gateway = try GatewayProcess(enrolled.dir, ["--upstream", upstream.url, "--admin-listen", "127.0.0.1:0"])
        defer { gateway.stop() }
        let marker = "admin listening on http://127.0.0.1:"
        let line = try #require(waitForLine(in: gateway.log, matching: marker, timeout: 30))
        let admin = "http://127.0.0.1:" + line.components(separatedBy: marker)[1].prefix(while: \.isNumber)

        let alive = try curl(admin + "/healthz")
        #expect(alive.status == 200 && alive.body.hasPrefix(#"{"status":"ok","version":""#))
        let ready = try curl(admin + "/readyz")
        #expect(ready.status == 200 && ready.body == #"{"status":"ready","store":"ok","upstream":"ok"}"# + "\n", "\(ready.body)")

        // The public listener: health and metrics are the upstream's paths, behind authentication.
        #expect(try curl(gateway.url("/healthz")).status == 401)
        #expect(try curl(gateway.url("/metrics")).status == 401)
        let token = try handshakeToken(gateway, agent: enrolled.agent)
        let proxied = try curl(gateway.url("/healthz"), headers: ["Authorization: chap:\(token)"])
        #expect(proxied.status == 200 && proxied.header("X-Upstream") == "echo")
        _ = try curl(gateway.url("/some/random/\(UUID().uuidString)"))
        _ = try curl(gateway.url("/whoami"), method: "PROPFIND")

        let metrics = try curl(admin + "/metrics").body
        #expect(metrics.contains(#"crtauth_http_requests_total{method="GET",route="proxy",status="200"}"#), "\(metrics)")
        #expect(metrics.contains(#"crtauth_http_requests_total{method="GET",route="/_auth",status="200"}"#))
        #expect(metrics.contains(#"crtauth_http_requests_total{method="other",route="proxy",status="401"}"#))
        #expect(metrics.contains("crtauth_http_request_duration_seconds_bucket{"))
        #expect(metrics.contains("crtauth_authentications_total{"))
        #expect(!metrics.contains("hb_requests") && !metrics.contains("http_server_request_duration"))
        let routes = Set(metrics.components(separatedBy: "route=\"").dropFirst().map { String($0.prefix { $0 != "\"" }) })
        #expect(routes.isSubset(of: ["/_auth", "/_auth/check", "/.well-known/jwks.json", "proxy", "other"]), "\(routes)")

        // The upstream gone: not ready, still alive.
        upstream.child.stop()
        let notReady = try curl(admin + "/readyz")
        #expect(notReady.status == 503 && notReady.body.contains(#""upstream":"unreachable""#), "\(notReady.body)")
        #expect(try curl(admin + "/healthz").status == 200)
    }
}
