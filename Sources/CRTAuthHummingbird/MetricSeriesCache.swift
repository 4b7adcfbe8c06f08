import Synchronization

/// Metric objects (`Counter`, `Timer`) made once per series and kept: making one asks the
/// metrics backend, under its lock, each time. Keyed by what names the series (its label
/// values, from a bounded set, never from a request as it came), as a value that is cheap to
/// hash: this runs for every decision.
final class MetricSeriesCache<Series: Hashable & Sendable, Metric: Sendable>: Sendable {
    private let made = Mutex<[Series: Metric]>([:])

    func metric(_ series: Series, make: () -> Metric) -> Metric {
        self.made.withLock { made in
            if let metric = made[series] { return metric }
            let metric = make()
            made[series] = metric
            return metric
        }
    }
}
