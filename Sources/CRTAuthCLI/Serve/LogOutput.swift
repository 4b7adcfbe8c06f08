import AuthCore
import Foundation
import Logging
import Synchronization

/// Where log lines go: standard error, standard output, or a file opened for appending that is
/// opened again on SIGHUP (logrotate moves the file away, then signals). Each line is one
/// `write(2)`, so lines from concurrent requests never interleave.
final class LogDestination: Sendable {
    enum Target: Sendable, Equatable {
        case standardError, standardOutput, file(String)
    }

    let target: Target
    private let descriptor: Mutex<Int32>

    init(_ target: Target) throws {
        self.target = target
        self.descriptor = Mutex(try Self.open(target))
    }

    func write(_ line: String) {
        var line = line
        line.withUTF8 { bytes in
            self.descriptor.withLock { descriptor in
                var offset = 0
                while offset < bytes.count {
                    let written = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                    if written < 0 { if errno == EINTR { continue } else { return } }
                    offset += written
                }
            }
        }
    }

    /// Opens the file again (nothing to do for the standard streams).
    func reopen() throws {
        guard case .file = self.target else { return }
        let new = try Self.open(self.target)
        let old = self.descriptor.withLock { descriptor in
            defer { descriptor = new }
            return descriptor
        }
        close(old)
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

    /// Fields of the access log, first and in this order; any others follow sorted.
    static let leadingFields = ["peer", "method", "path", "status", "bytes", "duration", "user", "key", "scheme", "reason"]

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
        if let extra = event.metadata { fields.merge(extra) { $1 } }
        // (name, text, whether JSON shows it as a number: numeric values given as stringConvertible)
        var ordered: [(String, String, Bool)] = [("time", Self.timestamp(), false), ("level", event.level.rawValue, false), ("msg", event.message.description, false)]
        func entry(_ name: String, _ value: Logger.Metadata.Value) -> (String, String, Bool) {
            if case .stringConvertible(let convertible) = value {
                let text = convertible.description
                return (name, text, Self.isNumber(text))
            }
            return (name, "\(value)", false)
        }
        for name in Self.leadingFields { if let value = fields.removeValue(forKey: name) { ordered.append(entry(name, value)) } }
        for (name, value) in fields.sorted(by: { $0.key < $1.key }) { ordered.append(entry(name, value)) }
        switch self.format {
        case .json:
            let members = ordered.map { (name: String, text: String, isNumber: Bool) -> String in
                jsonStringLiteral(name) + ":" + (isNumber ? text : jsonStringLiteral(text))
            }
            self.destination.write("{" + members.joined(separator: ",") + "}\n")
        case .text:
            self.destination.write(ordered.map { "\($0.0)=\(Self.logfmt($0.1))" }.joined(separator: " ") + "\n")
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
        let plain = !value.isEmpty && value.unicodeScalars.allSatisfy { $0.value > 0x20 && $0.value != 0x7F && $0 != "\"" && $0 != "=" && $0 != "\\" }
        return plain ? value : jsonStringLiteral(value)
    }

    /// `2026-12-06T08:50:00.123Z`, without Foundation's formatters (this runs for every request).
    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var time = tm()
        var seconds = now.tv_sec
        gmtime_r(&seconds, &time)
        func pad(_ value: Int32, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(pad(time.tm_year + 1900, 4))-\(pad(time.tm_mon + 1, 2))-\(pad(time.tm_mday, 2))T\(pad(time.tm_hour, 2)):\(pad(time.tm_min, 2)):\(pad(time.tm_sec, 2)).\(pad(Int32(now.tv_nsec / 1_000_000), 3))Z"
    }
}
