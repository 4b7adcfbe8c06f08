import Synchronization

/// Refusals are what an attacker controls: a flood of bad credentials must not become a flood
/// of log lines. At most ``linesPerInterval`` refusal lines are written each ``interval``; the
/// rest are counted by scheme and reason and summed up in one line when the next interval's
/// first audit line is written (metrics count every refusal regardless).
final class RefusalLogLimit: Sendable {
    static let defaultLinesPerInterval = 100
    static let defaultInterval: Duration = .seconds(10)

    let linesPerInterval: Int
    let interval: Duration

    private struct Window {
        var start: ContinuousClock.Instant
        var written = 0
        /// Lines not written in this window, by "scheme reason".
        var suppressed: [String: Int] = [:]
    }

    private let window: Mutex<Window>

    init(linesPerInterval: Int = defaultLinesPerInterval, interval: Duration = defaultInterval) {
        self.linesPerInterval = linesPerInterval
        self.interval = interval
        self.window = Mutex(Window(start: .now))
    }

    /// What to do with an audit line now: write it or not (successes always are), and the
    /// counts of the lines a window that has ended left unwritten, once.
    func admit(refusal key: String?, at now: ContinuousClock.Instant = .now) -> (write: Bool, suppressed: [String: Int]?) {
        self.window.withLock { window in
            var ended: [String: Int]?
            if now - window.start >= self.interval {
                if !window.suppressed.isEmpty { ended = window.suppressed }
                window = Window(start: now)
            }
            guard let key else { return (true, ended) }
            if window.written < self.linesPerInterval {
                window.written += 1
                return (true, ended)
            }
            window.suppressed[key, default: 0] += 1
            return (false, ended)
        }
    }
}
