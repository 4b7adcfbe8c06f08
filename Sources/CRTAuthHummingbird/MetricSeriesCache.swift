import Synchronization

/// Metric objects (`Counter`, `Timer`) made once per series and kept: making one asks the
/// metrics backend, under its lock, each time. Keyed by the series' label values, which come
/// from a bounded set (never from a request as it came).
final class MetricSeriesCache<Metric: Sendable>: Sendable {
    private let made = Mutex<[[String]: Metric]>([:])

    func metric(_ labels: [String], make: () -> Metric) -> Metric {
        self.made.withLock { made in
            if let metric = made[labels] { return metric }
            let metric = make()
            made[labels] = metric
            return metric
        }
    }
}
