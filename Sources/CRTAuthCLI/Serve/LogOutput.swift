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
        if let extra = event.metadata {
            if fields.isEmpty { fields = extra } else { fields.merge(extra) { $1 } }
        }
        // One line built in place: this runs for every request when the access log is on.
        var line = ""
        line.reserveCapacity(320)
        self.append("time", Self.timestamp(), number: false, to: &line)
        self.append("level", event.level.rawValue, number: false, to: &line)
        self.append("msg", event.message.description, number: false, to: &line)
        var left = fields.count
        for name in Self.leadingFields where left > 0 {
            guard let value = fields[name] else { continue }
            left -= 1
            self.append(name, value, to: &line)
        }
        if left > 0 {
            let leading = Set(Self.leadingFields)
            for (name, value) in fields.sorted(by: { $0.key < $1.key }) where !leading.contains(name) { self.append(name, value, to: &line) }
        }
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
    /// request); the part up to the seconds is made once a second.
    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let milliseconds = Int(now.tv_nsec / 1_000_000)
        let seconds = secondsCache.withLock { cache in
            if cache.second != now.tv_sec {
                var time = tm()
                var second = now.tv_sec
                gmtime_r(&second, &time)
                cache = (now.tv_sec, "\(pad(Int(time.tm_year) + 1900, 4))-\(pad(Int(time.tm_mon) + 1, 2))-\(pad(Int(time.tm_mday), 2))T\(pad(Int(time.tm_hour), 2)):\(pad(Int(time.tm_min), 2)):\(pad(Int(time.tm_sec), 2)).")
            }
            return cache.text
        }
        return seconds + pad(milliseconds, 3) + "Z"
    }

    private static let secondsCache = Mutex<(second: Int, text: String)>((-1, ""))

    private static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }
}
