/// Paths a middleware serves without credentials: exact paths, or prefixes written with a
/// trailing `*`. A path with dot segments or encoded dots, slashes or backslashes is never
/// exempt by prefix: `/static/../admin` would reach `/admin` at an upstream that normalises it.
public struct ExemptPaths: Sendable {
    public let entries: [String]

    public init(_ entries: [String]) { self.entries = entries }

    public func contains(_ path: String) -> Bool {
        self.entries.contains { entry in
            guard entry.hasSuffix("*") else { return path == entry }
            return path.hasPrefix(entry.dropLast()) && !Self.mayLeavePrefix(path)
        }
    }

    static func mayLeavePrefix(_ path: String) -> Bool {
        let lowered = path.lowercased()
        return lowered.contains("%2e") || lowered.contains("%2f") || lowered.contains("%5c") || path.contains("\\")
            || path.split(separator: "/", omittingEmptySubsequences: false).contains { $0 == "." || $0 == ".." }
    }
}
