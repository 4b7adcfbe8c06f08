import Metrics
import Synchronization

/// Per-request metrics named by Prometheus' conventions: `crtauth_http_requests_total` and
/// `crtauth_http_request_duration_seconds` (until the answer's head is ready), labelled by the
/// gateway's own route (`/_auth`, `/_auth/check`, `/whoami`, …, `proxy` for what goes upstream,
/// `other`), the method (the standard ones, else `other`) and, for the count, the status.
/// Labels never take a client's path or method as they come: that would let a client mint series.
///
/// Each series' metric object is made once and kept: making one asks the Prometheus registry,
/// under its lock, for every request otherwise.
final class RequestMetrics: Sendable {
    static let methods = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "other"]
    /// The route labels: the paths the gateway answers itself, then `proxy` or `other`.
    private let routes: [String]
    private let indexOfRoute: [String: Int]
    private let counters = Mutex<[Int: Counter]>([:])
    private let timers = Mutex<[Int: Timer]>([:])

    /// - Parameters:
    ///   - routes: the paths the gateway answers itself.
    ///   - proxying: whether other paths are proxied.
    init(routes: Set<String>, proxying: Bool) {
        self.routes = routes.sorted() + [proxying ? "proxy" : "other"]
        self.indexOfRoute = Dictionary(uniqueKeysWithValues: self.routes.dropLast().enumerated().map { ($1, $0) })
    }

    /// The series of one request, by its path and method.
    struct Series {
        fileprivate let route: Int
        fileprivate let method: Int
    }

    func series(path: String, method: String) -> Series {
        Series(route: self.indexOfRoute[path] ?? self.routes.count - 1, method: Self.methods.firstIndex(of: method) ?? Self.methods.count - 1)
    }

    func record(_ series: Series, status: Int, since started: ContinuousClock.Instant) {
        let routeAndMethod = series.route << 4 | series.method
        let counter = self.counters.withLock { counters in
            let key = routeAndMethod << 12 | min(max(status, 0), 999)
            if let counter = counters[key] { return counter }
            let counter = Counter(label: "crtauth_http_requests_total", dimensions: [
                ("method", Self.methods[series.method]), ("route", self.routes[series.route]), ("status", String(status)),
            ])
            counters[key] = counter
            return counter
        }
        counter.increment()
        let timer = self.timers.withLock { timers in
            if let timer = timers[routeAndMethod] { return timer }
            let timer = Timer(label: "crtauth_http_request_duration_seconds", dimensions: [("method", Self.methods[series.method]), ("route", self.routes[series.route])])
            timers[routeAndMethod] = timer
            return timer
        }
        timer.recordInterval(since: started)
    }
}
