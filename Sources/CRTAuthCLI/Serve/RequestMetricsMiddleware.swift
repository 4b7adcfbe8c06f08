import CRTAuthHummingbird
import Hummingbird

/// ``RequestMetrics`` for each request the router answers.
struct RequestMetricsMiddleware: RouterMiddleware {
    typealias Context = CRTAuthRequestContext
    let metrics: RequestMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        let series = self.metrics.series(path: request.uri.path, method: request.method.rawValue)
        let status: Int
        defer { self.metrics.record(series, status: status, since: started) }
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
