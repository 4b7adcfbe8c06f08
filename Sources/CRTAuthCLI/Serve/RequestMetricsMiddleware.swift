import CRTAuthHummingbird
import Hummingbird
import Metrics

/// Per-request metrics named by Prometheus' conventions: `crtauth_http_requests_total` and
/// `crtauth_http_request_duration_seconds` (until the answer's head is ready), labelled by the
/// gateway's own route (`/_auth`, `/_auth/check`, `/whoami`, …, `proxy` for what goes upstream,
/// `other`), the method (the standard ones, else `other`) and, for the count, the status.
/// Labels never take a client's path or method as they come: that would let a client mint series.
struct RequestMetricsMiddleware: RouterMiddleware {
    typealias Context = CRTAuthRequestContext
    static let methods: Set<String> = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]
    /// The paths the gateway answers itself.
    let routes: Set<String>
    /// Whether other paths are proxied.
    let proxying: Bool

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        let path = request.uri.path
        let route = self.routes.contains(path) ? path : (self.proxying ? "proxy" : "other")
        let method = Self.methods.contains(request.method.rawValue) ? request.method.rawValue : "other"
        let status: Int
        defer {
            Counter(label: "crtauth_http_requests_total", dimensions: [("method", method), ("route", route), ("status", String(status))]).increment()
            Timer(label: "crtauth_http_request_duration_seconds", dimensions: [("method", method), ("route", route)])
                .recordInterval(since: started)
        }
        do {
            let response = try await next(request, context)
            status = response.status.code
            return response
        } catch {
            status = (error as? any HTTPResponseError)?.status.code ?? 500
            throw error
        }
    }
}
