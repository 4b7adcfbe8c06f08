/// What a phase of the soak saw and whether it passed: the answers by kind and status, and the
/// checks with what each measured.
struct PhaseReport {
    let name: String
    var lines: [String] = []
    private(set) var checks: [(passed: Bool, text: String)] = []

    init(name: String) { self.name = name }

    var passed: Bool { self.checks.allSatisfy(\.passed) }

    mutating func check(_ passed: Bool, _ text: String) { self.checks.append((passed, text)) }

    /// The answers of `tally` over `seconds`, one line per kind of request.
    mutating func answers(_ tally: Tally, seconds: Double) {
        let state = tally.snapshot
        var total = 0
        for kind in TrafficKind.allCases {
            guard let statuses = state.statuses[kind] else { continue }
            let count = statuses.values.reduce(0, +)
            total += count
            let spread = statuses.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(separator: " ")
            self.lines.append("  \(kind.rawValue.padding(toLength: 22, withPad: " ", startingAt: 0)) \(String(count).leftPadded(9))   \(spread)")
        }
        self.lines.append("  \("all".padding(toLength: 22, withPad: " ", startingAt: 0)) \(String(total).leftPadded(9))   \(Int(Double(total) / seconds)) answers/s; slowest \(state.slowest.milliseconds) ms")
        for example in state.examples { self.lines.append("  ! " + example) }
    }

    func printed() -> String {
        var text = "## \(self.name): \(self.passed ? "pass" : "FAIL")\n"
        for line in self.lines { text += line + "\n" }
        for check in self.checks { text += "  [\(check.passed ? "ok" : "FAIL")] \(check.text)\n" }
        return text
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { String(repeating: " ", count: max(0, width - self.count)) + self }
}

extension Duration {
    var milliseconds: Int64 { self.components.seconds * 1000 + self.components.attoseconds / 1_000_000_000_000_000 }
}
