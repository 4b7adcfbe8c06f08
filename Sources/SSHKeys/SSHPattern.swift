/// OpenSSH's pattern language (`match.c` semantics): `*` matches any run, `?` any one
/// character; a comma-separated list may negate entries with `!`.
public enum SSHPattern {
    /// Whether `string` matches the single `pattern` (case-sensitive).
    public static func matches(_ string: some StringProtocol, pattern: some StringProtocol) -> Bool {
        let s = Array(string.unicodeScalars), p = Array(pattern.unicodeScalars)
        var si = 0, pi = 0
        var starP = -1, starS = 0
        while si < s.count {
            if pi < p.count, p[pi] == "*" {
                starP = pi
                starS = si
                pi += 1
            } else if pi < p.count, p[pi] == "?" || p[pi] == s[si] {
                si += 1
                pi += 1
            } else if starP >= 0 {
                pi = starP + 1
                starS += 1
                si = starS
            } else {
                return false
            }
        }
        while pi < p.count, p[pi] == "*" { pi += 1 }
        return pi == p.count
    }

    /// The result of matching against a pattern list.
    public enum ListMatch: Sendable, Hashable {
        /// A negated entry matched: the list refuses the string.
        case negated
        /// No entry matched.
        case noMatch
        /// A positive entry matched and no negated one did.
        case matched
    }

    /// Matches `string` against a comma-separated pattern list such as `*@example.com,!eve@*`.
    public static func match(_ string: some StringProtocol, list: some StringProtocol) -> ListMatch {
        var result = ListMatch.noMatch
        for entry in list.split(separator: ",", omittingEmptySubsequences: true) {
            if entry.hasPrefix("!") {
                if matches(string, pattern: entry.dropFirst()) { return .negated }
            } else if matches(string, pattern: entry) {
                result = .matched
            }
        }
        return result
    }
}
