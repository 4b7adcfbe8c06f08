import AuthCore
@testable import CRTAuthHummingbird
import Foundation
import Logging
import Synchronization
import Testing

/// The audit log under a flood of bad credentials: bounded lines, a summary, every success.
@Suite("audit lines of refusals are limited")
struct RefusalLogLimitTests {
    /// Keeps every line logged through it.
    struct Collector: LogHandler {
        final class Lines: Sendable {
            let entries = Mutex<[(message: String, metadata: Logger.Metadata)]>([])
        }
        let lines: Lines
        var logLevel: Logger.Level = .trace
        var metadata: Logger.Metadata = [:]
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { self.metadata[key] }
            set { self.metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            self.lines.entries.withLock { $0.append((event.message.description, event.metadata ?? [:])) }
        }
    }

    @Test("at most N refusal lines an interval, then one line with the counts of the rest; successes are always written")
    func flood() async throws {
        let lines = Collector.Lines()
        let audit = Audit(logger: Logger(label: "audit") { _ in Collector(lines: lines) }, refusals: RefusalLogLimit(linesPerInterval: 5, interval: .milliseconds(300)))
        for index in 0..<1000 {
            audit.record(scheme: index % 2 == 0 ? .chap : .jwt, user: nil, key: nil, result: .failure(index % 2 == 0 ? "bad-mac" : "expired"), peer: nil)
        }
        audit.record(scheme: .chap, user: "alice", key: nil, result: .success, peer: nil)
        var entries = lines.entries.withLock { $0 }
        #expect(entries.filter { $0.message == "authentication" }.count == 6)
        #expect(entries.last?.metadata["user"] == "alice")

        try await Task.sleep(for: .milliseconds(350))
        audit.record(scheme: .chap, user: nil, key: nil, result: .failure("bad-mac"), peer: nil)
        entries = lines.entries.withLock { $0 }
        let summary = try #require(entries.first { $0.message == "authentication refusals not logged" })
        #expect(summary.metadata["count"]?.description == "995")
        #expect(summary.metadata["counts"]?.description == "chap bad-mac=497, jwt expired=498")
        // The new interval writes again.
        #expect(entries.last?.message == "authentication" && entries.last?.metadata["reason"] == "bad-mac")
    }
}
