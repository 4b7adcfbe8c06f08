import AuthCore
import CRTAuth
import Logging
import Metrics
import NIOCore

/// One audit line per authentication decision, and the matching metrics. Never logs a
/// credential: only the user (escaped and truncated, as it may come from an attacker), the key
/// fingerprint, the scheme, the result with its reason, and the peer.
struct Audit: Sendable {
    let logger: Logger
    /// Keyed by scheme and refusal reason (nil for a success).
    private let counters = MetricSeriesCache<Series, Counter>()
    private let refusals: RefusalLogLimit

    init(logger: Logger, refusals: RefusalLogLimit = RefusalLogLimit()) {
        self.logger = logger
        self.refusals = refusals
    }
    /// Longest attacker-influenced value put in a log line.
    static let maximumLoggedLength = 64

    /// `detail` (a parse error, say) goes to the log line only, never into a metric label.
    /// Refusal lines are limited (``RefusalLogLimit``); the metrics count every decision.
    func record(scheme: IdentityScheme, user: String?, key: String?, result: Result, peer: SocketAddress?, detail: String? = nil) {
        self.counters.metric(Series(scheme: scheme, reason: result.failureReason)) {
            Counter(label: "crtauth_authentications_total", dimensions: [("scheme", scheme.name), ("result", result.name), ("reason", result.reason)])
        }.increment()
        AccessRecord.current?.note(scheme: scheme, user: user.map { Self.escaped($0) }, key: key, refusal: result.failureReason)
        let (write, suppressed) = self.refusals.admit(refusal: result.failureReason.map { scheme.name + " " + $0 })
        if let suppressed {
            let counts = suppressed.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")
            self.logger.warning("authentication refusals not logged", metadata: [
                "count": .stringConvertible(suppressed.values.reduce(0, +)), "counts": .string(counts),
                "limit": .string("\(self.refusals.linesPerInterval) per \(self.refusals.interval)"),
            ])
        }
        guard write else { return }
        var metadata: Logger.Metadata = ["scheme": .string(scheme.name), "result": .string(result.name)]
        if let detail { metadata["detail"] = .string(Self.escaped(detail, limit: 200)) }
        if let user { metadata["user"] = .string(Self.escaped(user)) }
        if let key { metadata["key"] = .string(key) }
        if case .failure(let reason) = result { metadata["reason"] = .string(reason) }
        if let peer { metadata["peer"] = .string(Self.describe(peer)) }
        self.logger.info("authentication", metadata: metadata)
    }

    enum Result {
        case success
        case failure(String)

        var name: String { if case .success = self { "success" } else { "failure" } }
        var reason: String { self.failureReason ?? "" }
        var failureReason: String? { if case .failure(let reason) = self { reason } else { nil } }
    }

    /// One `crtauth_authentications_total` series.
    struct Series: Hashable {
        let scheme: IdentityScheme
        let reason: String?
    }

    /// Printable ASCII only (others as `\u{…}`), at most ``maximumLoggedLength`` characters.
    static func escaped(_ text: String, limit: Int = maximumLoggedLength) -> String {
        func plain(_ value: UInt32) -> Bool { value >= 0x20 && value < 0x7F && value != 0x5C }
        if text.utf8.count <= limit, text.utf8.allSatisfy({ plain(UInt32($0)) }) { return text }
        var out = ""
        var count = 0
        for scalar in text.unicodeScalars {
            if count >= limit { out += "…"; break }
            if plain(scalar.value) {
                out.unicodeScalars.append(scalar)
                count += 1
            } else {
                let escape = "\\u{\(String(scalar.value, radix: 16))}"
                out += escape
                count += escape.count
            }
        }
        return out
    }

    static func describe(_ address: SocketAddress) -> String {
        switch address {
        case .v4, .v6: "\(address.ipAddress ?? "?"):\(address.port ?? 0)"
        case .unixDomainSocket: address.pathname ?? "unix"
        }
    }
}
