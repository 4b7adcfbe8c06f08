import AuthCore
import Foundation
import Logging
import NIOPosix
import Synchronization

/// Where log lines go: standard error, standard output, or a file opened for appending that is
/// opened again on SIGHUP (logrotate moves the file away, then signals).
///
/// Lines written on an event loop's thread (the gateway's fast path) are gathered and written
/// together once that turn of the loop is done: one `write(2)` for every request the turn
/// answered rather than one each, and no lock between threads. Elsewhere each line is written
/// at once. The kernel keeps lines whole: a file opened for appending takes each write whole,
/// and a pipe each write up to `PIPE_BUF` (4 KiB), so gathered lines go to a pipe in pieces of
/// at most that, cut between lines.
final class LogDestination: Sendable {
    enum Target: Sendable, Equatable {
        case standardError, standardOutput, file(String)
    }

    /// How long a replaced file stays open, for a line that was being written to it.
    static let retiredFileGrace: Duration = .seconds(1)
    /// Gathered lines are written once they reach this, without waiting for the turn's end.
    static let gatheredLimit = 64 * 1024
    /// Bytes a pipe takes whole (POSIX's minimum `PIPE_BUF`, Linux's value).
    static let pipeAtomicLength = 4096

    let target: Target
    private let descriptor: Atomic<Int32>
    /// Whether writes of any length stay whole (a regular file, opened for appending).
    private let appendsWhole: Bool
    private let gathered = ThreadSpecificVariable<GatheredLines>()

    init(_ target: Target) throws {
        self.target = target
        let descriptor = try Self.open(target)
        self.descriptor = Atomic(descriptor)
        var status = stat()
        self.appendsWhole = fstat(descriptor, &status) == 0 && (status.st_mode & S_IFMT) == S_IFREG && fcntl(descriptor, F_GETFL) & O_APPEND != 0
    }

    func write(_ line: String) {
        guard let loop = MultiThreadedEventLoopGroup.currentEventLoop else { return self.write(bytes: Array(line.utf8)) }
        let gathered = self.gathered.currentValue ?? {
            let gathered = GatheredLines()
            self.gathered.currentValue = gathered
            return gathered
        }()
        let first = gathered.bytes.isEmpty
        gathered.bytes.append(contentsOf: line.utf8)
        if gathered.bytes.count >= Self.gatheredLimit {
            self.flush(gathered)
        } else if first {
            loop.execute { self.flush(gathered) }
        }
    }

    private func flush(_ gathered: GatheredLines) {
        guard !gathered.bytes.isEmpty else { return }
        self.write(bytes: gathered.bytes)
        gathered.bytes.removeAll(keepingCapacity: gathered.bytes.capacity <= Self.gatheredLimit * 2)
    }

    /// Whole lines, in one write or (to a pipe or terminal) in pieces cut between lines.
    private func write(bytes: [UInt8]) {
        let descriptor = self.descriptor.load(ordering: .acquiring)
        bytes.withUnsafeBufferPointer { bytes in
            var start = 0
            while start < bytes.count {
                var end = bytes.count
                if !self.appendsWhole, end - start > Self.pipeAtomicLength,
                   let cut = bytes[start..<start + Self.pipeAtomicLength].lastIndex(of: UInt8(ascii: "\n")) {
                    end = cut + 1
                }
                var offset = start
                while offset < end {
                    let written = Glibc.write(descriptor, bytes.baseAddress! + offset, end - offset)
                    if written < 0 { if errno == EINTR { continue } else { return } }
                    offset += written
                }
                start = end
            }
        }
    }

    /// Opens the file again (nothing to do for the standard streams).
    func reopen() throws {
        guard case .file = self.target else { return }
        let old = self.descriptor.exchange(try Self.open(self.target), ordering: .acquiringAndReleasing)
        Task {
            try? await Task.sleep(for: Self.retiredFileGrace)
            close(old)
        }
    }

    /// One thread's lines not yet written (read and written by that thread alone).
    private final class GatheredLines: @unchecked Sendable {
        var bytes: [UInt8] = []
    }

    private static func open(_ target: Target) throws -> Int32 {
        switch target {
        case .standardError: return STDERR_FILENO
        case .standardOutput: return STDOUT_FILENO
        case .file(let path):
            let descriptor = Glibc.open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o640)
            guard descriptor >= 0 else { throw CLIFailure(message: "cannot open the log file \(path): \(String(cString: strerror(errno)))") }
            return descriptor
        }
    }
}

/// A swift-log handler writing one line per message: `text` is logfmt (`time=… level=info
/// msg=request status=200 …`, values quoted when they hold a blank or a quote), `json` one
/// object per line with the fields as keys. Time is UTC with milliseconds.
struct LineLogHandler: LogHandler {
    enum Format: String, Sendable { case text, json }

    /// Where a field goes in a line: those of the access log first, in this order (`peer`,
    /// `method`, `path`, `status`, `bytes`, `duration`, `user`, `key`, `scheme`, `reason`);
    /// any others follow, sorted by name.
    static func rank(of name: String) -> Int {
        switch name {
        case "peer": 0
        case "method": 1
        case "path": 2
        case "status": 3
        case "bytes": 4
        case "duration": 5
        case "user": 6
        case "key": 7
        case "scheme": 8
        case "reason": 9
        default: 10
        }
    }

    let format: Format
    let destination: LogDestination
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]

    init(format: Format, destination: LogDestination, level: Logger.Level) {
        self.format = format
        self.destination = destination
        self.logLevel = level
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { self.metadata[key] }
        set { self.metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var fields = self.metadata
        if let extra = event.metadata {
            if fields.isEmpty { fields = extra } else { fields.merge(extra) { $1 } }
        }
        // One line built in place: this runs for every request when the access log is on.
        var line = ""
        line.reserveCapacity(320)
        self.append("time", Self.timestamp(), number: false, to: &line)
        self.append("level", event.level.rawValue, number: false, to: &line)
        self.append("msg", event.message.description, number: false, to: &line)
        // Ordered as they are taken from the fields, by inserting each among the few there
        // are: a lookup of each leading name hashed ten strings per line, a sort allocated.
        var ordered: [(rank: Int, name: String, value: Logger.Metadata.Value)] = []
        ordered.reserveCapacity(fields.count)
        for (name, value) in fields {
            let rank = Self.rank(of: name)
            var index = ordered.endIndex
            while index > 0, (ordered[index - 1].rank, ordered[index - 1].name) > (rank, name) { index -= 1 }
            ordered.insert((rank, name, value), at: index)
        }
        for field in ordered { self.append(field.name, field.value, to: &line) }
        line += self.format == .json ? "}\n" : "\n"
        self.destination.write(line)
    }

    /// Numeric values given as `stringConvertible` are JSON numbers; anything else is text.
    private func append(_ name: String, _ value: Logger.Metadata.Value, to line: inout String) {
        switch value {
        case .string(let text): self.append(name, text, number: false, to: &line)
        case .stringConvertible(let convertible):
            let text = convertible.description
            self.append(name, text, number: Self.isNumber(text), to: &line)
        default: self.append(name, "\(value)", number: false, to: &line)
        }
    }

    private func append(_ name: String, _ text: String, number: Bool, to line: inout String) {
        switch self.format {
        case .json:
            line += line.isEmpty ? "{" : ","
            line += jsonStringLiteral(name)
            line += ":"
            line += number ? text : jsonStringLiteral(text)
        case .text:
            if !line.isEmpty { line += " " }
            line += name
            line += "="
            line += Self.logfmt(text)
        }
    }

    /// Digits with at most one inner dot: a JSON number as it stands.
    static func isNumber(_ text: String) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count <= 2 && parts.allSatisfy { !$0.isEmpty && $0.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }
    }

    /// A logfmt value: bare when it has no blank, quote, `=` or control character; else quoted
    /// with JSON's escapes.
    static func logfmt(_ value: String) -> String {
        let plain = !value.isEmpty && value.utf8.allSatisfy { $0 > 0x20 && $0 != 0x7F && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "=") && $0 != UInt8(ascii: "\\") }
        return plain ? value : jsonStringLiteral(value)
    }

    /// `2026-12-06T08:50:00.123Z`, without Foundation's formatters (this runs for every
    /// request); the part up to the seconds is made once a second by each thread.
    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let cache = secondsCache.currentValue ?? {
            let cache = SecondsText()
            secondsCache.currentValue = cache
            return cache
        }()
        if cache.second != now.tv_sec {
            var time = tm()
            var second = now.tv_sec
            gmtime_r(&second, &time)
            cache.second = now.tv_sec
            cache.text = "\(pad(Int(time.tm_year) + 1900, 4))-\(pad(Int(time.tm_mon) + 1, 2))-\(pad(Int(time.tm_mday), 2))T\(pad(Int(time.tm_hour), 2)):\(pad(Int(time.tm_min), 2)):\(pad(Int(time.tm_sec), 2))."
        }
        return cache.text + pad(Int(now.tv_nsec / 1_000_000), 3) + "Z"
    }

    /// One thread's formatted second (read and written by that thread alone).
    private final class SecondsText: @unchecked Sendable {
        var second = -1
        var text = ""
    }

    private static let secondsCache = ThreadSpecificVariable<SecondsText>()

    private static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }
}
