import Foundation
import SSHKeys
import Synchronization
import TestSupport

/// The faults injected while the load runs, each on a thread of its own (they wait on
/// processes, which must not hold the cooperative pool's threads the clients run on), and what
/// they did: windows in which the service could not be whole, keys added and removed.
final class Faults: Sendable {
    /// A span (seconds since the phase began) in which valid credentials may be refused.
    struct Window: Sendable {
        let what: String
        let start: Double
        var end: Double
    }

    struct Record {
        var windows: [Window] = []
        var rotations = 0
        /// Keys `crtauth keys add` reported added, by fingerprint, with their user.
        var added: [String: String] = [:]
        var removed: Set<String> = []
        var failures: [String] = []
    }

    /// Seconds between secret rotations.
    static let rotationInterval = 10.0
    /// Seconds the upstream or the database stays down.
    static let outage = 4.0

    let start: ContinuousClock.Instant
    private let record = Mutex(Record())
    private let running = Atomic<Int>(0)

    init(start: ContinuousClock.Instant) { self.start = start }

    var snapshot: Record { self.record.withLock { $0 } }

    private var now: Double { (ContinuousClock.now - self.start) / .seconds(1) }

    private func note(_ update: (inout Record) -> Void) { self.record.withLock { update(&$0) } }

    /// Runs `body` on a thread of its own; ``wait()`` waits for every one.
    private func spawn(_ body: @escaping @Sendable () -> Void) {
        self.running.add(1, ordering: .sequentiallyConsistent)
        let thread = Thread { [self] in
            body()
            self.running.subtract(1, ordering: .sequentiallyConsistent)
        }
        thread.start()
    }

    /// Waits for every fault thread to finish.
    func wait() {
        while self.running.load(ordering: .sequentiallyConsistent) > 0 { usleep(50_000) }
    }

    /// SIGHUP with a new secret every ``rotationInterval`` seconds until `deadline`.
    func rotateSecrets(of gateway: GatewayUnderTest, until deadline: Double) {
        self.spawn { [self] in
            while self.now + Self.rotationInterval < deadline {
                usleep(UInt32(Self.rotationInterval * 1_000_000))
                do {
                    try gateway.rotateSecret()
                    self.note { $0.rotations += 1 }
                } catch {
                    self.note { $0.failures.append("secret rotation: \(error)") }
                }
            }
        }
    }

    /// `crtauth keys add` of a fresh key, and `remove` of every second one, back to back until
    /// `deadline`, as an operator's script would while the gateway serves.
    func churnKeys(of gateway: GatewayUnderTest, until deadline: Double) {
        self.spawn { [self] in
            var index = 0
            var previous: (user: String, fingerprint: String)?
            while self.now < deadline {
                index += 1
                let user = "churn-\(index)"
                do {
                    let key = try SSHPrivateKey(generating: .ed25519, comment: user).publicKey
                    try gateway.keys(["add", user, key.openSSHLine(comment: user)])
                    self.note { $0.added[key.sha256Fingerprint] = user }
                    if index % 2 == 0, let (user, fingerprint) = previous {
                        try gateway.keys(["remove", user, fingerprint])
                        self.note { $0.removed.insert(fingerprint) }
                    }
                    previous = (user, key.sha256Fingerprint)
                } catch {
                    self.note { $0.failures.append("keys churn: \(error)") }
                }
            }
        }
    }

    /// At `at` seconds: `stop`, then `start` ``outage`` seconds later, as a window named `what`.
    func outage(_ what: String, at: Double, stop: @escaping @Sendable () -> Void, start: @escaping @Sendable () throws -> Void) {
        self.spawn { [self] in
            let wait = at - self.now
            if wait > 0 { usleep(UInt32(wait * 1_000_000)) }
            let began = self.now
            self.note { $0.windows.append(Window(what: what, start: began, end: .infinity)) }
            stop()
            usleep(UInt32(Self.outage * 1_000_000))
            do {
                try start()
            } catch {
                self.note { $0.failures.append("\(what): restart failed: \(error)") }
            }
            let ended = self.now
            self.note { record in
                if let index = record.windows.lastIndex(where: { $0.what == what && $0.start == began }) { record.windows[index].end = ended }
            }
        }
    }

    /// Keys reported added and not removed that the store no longer lists, and keys removed
    /// that it still does.
    func lostKeys(in gateway: GatewayUnderTest) throws -> [String] {
        let listed = try gateway.keys(["list"])
        let record = self.snapshot
        var problems: [String] = []
        for (fingerprint, user) in record.added.sorted(by: { $0.key < $1.key }) {
            let present = listed.contains("\(user) \(fingerprint) ")
            if record.removed.contains(fingerprint), present { problems.append("\(user) \(fingerprint): removed, still listed") }
            if !record.removed.contains(fingerprint), !present { problems.append("\(user) \(fingerprint): added, missing") }
        }
        return problems
    }
}
