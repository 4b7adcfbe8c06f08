import Synchronization

/// What a request of the mix is.
enum TrafficKind: String, CaseIterable, Sendable {
    case chap = "chap token"
    case handshakeRSA = "handshake RSA v1"
    case handshakeEd25519 = "handshake Ed25519 v2"
    case jwt = "JWT"
    case httpSignature = "RFC 9421"
    case bad = "bad credential"

    var valid: Bool { self != .bad }
}

/// The answers of one phase, counted by every client at once.
final class Tally: Sendable {
    /// Examples kept of each sort of failure.
    static let examplesKept = 12
    /// Times kept of valid credentials refused (a fault phase's recovery is read from them).
    static let refusalTimesKept = 200_000

    struct State {
        var statuses: [TrafficKind: [Int: Int]] = [:]
        /// Answers the phase does not allow (a 5xx, a valid credential refused outside a fault, a
        /// bad one admitted) and exchanges without an answer.
        var unexpected = 0
        var connectionErrors = 0
        var examples: [String] = []
        /// Seconds since the phase began at which a valid credential was refused (fault phases).
        var refusedValid: [Double] = []
        var slowest: Duration = .zero
    }

    let start: ContinuousClock.Instant
    private let state = Mutex(State())

    init(start: ContinuousClock.Instant = .now) { self.start = start }

    var snapshot: State { self.state.withLock { $0 } }

    func answered(_ kind: TrafficKind, status: Int, took: Duration) {
        self.state.withLock { state in
            state.statuses[kind, default: [:]][status, default: 0] += 1
            if took > state.slowest { state.slowest = took }
        }
    }

    func unexpected(_ kind: TrafficKind, _ description: String) {
        self.state.withLock { state in
            state.unexpected += 1
            if state.examples.count < Self.examplesKept { state.examples.append("\(self.seconds) s, \(kind.rawValue): \(description)") }
        }
    }

    func connectionError(_ kind: TrafficKind, _ description: String) {
        self.state.withLock { state in
            state.connectionErrors += 1
            if state.examples.count < Self.examplesKept { state.examples.append("\(self.seconds) s, \(kind.rawValue): \(description)") }
        }
    }

    func refusedValid() {
        let now = (ContinuousClock.now - self.start) / .seconds(1)
        self.state.withLock { state in
            if state.refusedValid.count < Self.refusalTimesKept { state.refusedValid.append(now) }
        }
    }

    private var seconds: String { String(Int((ContinuousClock.now - self.start) / .seconds(1))) }
}
