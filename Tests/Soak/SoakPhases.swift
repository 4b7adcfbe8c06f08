import Foundation
import NIOHTTP1
import SSHKeys
import TestSupport

/// The soak's phases against real processes: steady mixed load, a flood of bad tokens, and
/// the mixed load again with faults injected (SQLite store, then PostgreSQL).
struct SoakPhases {
    /// Seconds between samples of the gateway's memory and descriptors.
    static let sampleInterval = 2.0
    /// Growth of resident memory allowed after the warm-up (flat within 10 %).
    static let rssGrowthAllowed = 0.10
    /// Descriptors the gateway may hold after the load beyond what it held before it: its
    /// bounded caches of open files, which fill under load (up to 8 idle SQLite lookup
    /// connections and GRDB's readers, each with the database, its WAL and shared memory open).
    static let descriptorSlack = 48
    /// Descriptors the gateway may open under load beyond what it held after the warm-up
    /// (clients reconnect after refusals that close the connection).
    static let descriptorSpread = 64
    /// How long the gateway's idle upstream connections may stay open after the load (its
    /// pool closes them after 50 s).
    static let descriptorSettling: Duration = .seconds(60)
    /// Seconds within which valid credentials must be admitted again after a fault ends.
    static let recovery = 5.0
    /// Connections of the flood.
    static let floodConnections = 64
    /// Audit lines the gateway writes at most per ten seconds of refusals (its limit, 100, and
    /// the summary line).
    static let refusalLinesPer10s = 101

    let crtauth: String
    let connections: Int
    let users: [SoakUser]
    let stranger: SSHPrivateKey

    /// Every user's two keys into the gateway's store.
    func enroll(_ gateway: GatewayUnderTest) throws {
        for user in self.users {
            try gateway.keys(["add", user.name, user.rsa.publicKey.openSSHLine(comment: user.name)])
            try gateway.keys(["add", user.name, user.ed25519.publicKey.openSSHLine(comment: user.name)])
        }
    }

    /// ``connections`` clients sending the mix for `seconds`.
    func load(_ gateway: GatewayUnderTest, seconds: Double, expectation: TrafficClient.Expectation, tally: Tally) async throws {
        let authority = "127.0.0.1:\(gateway.port)"
        let bad = try await BadCredentials.make(user: self.users[0], stranger: self.stranger, authority: authority, serverName: "127.0.0.1")
        let deadline = tally.start + .milliseconds(Int64(seconds * 1000))
        await withTaskGroup(of: Void.self) { group in
            for index in 0..<self.connections {
                let client = TrafficClient(
                    index: index, host: "127.0.0.1", port: gateway.port, serverName: "127.0.0.1", user: self.users[index % self.users.count],
                    bad: bad, tokenLifetime: .seconds(gateway.tokenLifetime), expectation: expectation, tally: tally
                )
                group.addTask { await client.run(until: deadline) }
            }
        }
    }

    /// The gateway's memory and descriptors every ``sampleInterval`` seconds until `deadline`.
    func sample(_ gateway: GatewayUnderTest, until deadline: ContinuousClock.Instant) async -> [(seconds: Double, rssKiB: Int, descriptors: Int)] {
        let start = ContinuousClock.now
        var samples: [(seconds: Double, rssKiB: Int, descriptors: Int)] = []
        while ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(Int64(Self.sampleInterval * 1000)))
            if let sample = gateway.sample() { samples.append(((ContinuousClock.now - start) / .seconds(1), sample.rssKiB, sample.descriptors)) }
        }
        return samples
    }

    // MARK: Phases

    /// The mixed load for `seconds`: every valid credential admitted, every bad one a 4xx, no
    /// connection error, memory flat after the warm-up, no descriptor left behind.
    func steady(_ gateway: GatewayUnderTest, seconds: Double, warmUp: Double) async throws -> PhaseReport {
        var report = PhaseReport(name: "steady load: \(self.connections) connections, \(Int(seconds)) s, SQLite store")
        try await Task.sleep(for: .seconds(1))
        let before = gateway.sample()
        let kindsBefore = gateway.descriptorKinds()
        let tally = Tally()
        async let samples = self.sample(gateway, until: tally.start + .milliseconds(Int64(seconds * 1000)))
        try await self.load(gateway, seconds: seconds, expectation: .admitted, tally: tally)
        let taken = await samples
        // Idle upstream connections stay pooled for up to 50 s after the load; then the
        // descriptors must be back where they were.
        var after = gateway.sample()
        let settleBy = ContinuousClock.now + Self.descriptorSettling
        while let sample = after, let before, sample.descriptors > before.descriptors + Self.descriptorSlack, ContinuousClock.now < settleBy {
            try await Task.sleep(for: .seconds(1))
            after = gateway.sample()
        }
        report.answers(tally, seconds: seconds)
        let state = tally.snapshot
        report.check(state.unexpected == 0, "\(state.unexpected) answers other than 200 to a valid credential or a 4xx to a bad one")
        report.check(state.connectionErrors == 0, "\(state.connectionErrors) exchanges without an answer")
        report.check(state.statuses.keys.count == TrafficKind.allCases.count, "every kind of request was sent")
        let settled = taken.filter { $0.seconds >= warmUp }
        if let low = settled.map(\.rssKiB).min(), let high = settled.map(\.rssKiB).max(), let first = settled.first {
            let growth = Double(high - low) / Double(low)
            report.check(growth <= Self.rssGrowthAllowed, "RSS after \(Int(warmUp)) s: \(first.rssKiB / 1024)–\(high / 1024) MB (min \(low / 1024) MB), \(String(format: "%.1f", growth * 100)) % spread (≤ \(Int(Self.rssGrowthAllowed * 100)) %)")
        } else {
            report.check(false, "no memory samples after the warm-up")
        }
        if let warm = settled.first?.descriptors, let peak = settled.map(\.descriptors).max() {
            report.check(peak <= warm + Self.descriptorSpread, "descriptors under load after \(Int(warmUp)) s: \(warm), at most \(peak) (≤ \(warm + Self.descriptorSpread))")
        }
        if let before, let after {
            report.check(after.descriptors <= before.descriptors + Self.descriptorSlack, "descriptors: \(before.descriptors) before the load, \(after.descriptors) once its connections closed (≤ \(before.descriptors + Self.descriptorSlack))")
            report.lines.append("  descriptors before: \(kindsBefore); after: \(gateway.descriptorKinds())")
            report.lines.append("  RSS: \(before.rssKiB / 1024) MB before, \(after.rssKiB / 1024) MB after; samples (s: MB) " + taken.enumerated().filter { $0.offset % max(1, taken.count / 12) == 0 }.map { "\(Int($0.element.seconds)): \($0.element.rssKiB / 1024)" }.joined(separator: ", "))
        }
        report.check(gateway.alive, "the gateway is running")
        return report
    }

    /// Bad tokens as fast as ``floodConnections`` connections send them for `seconds`: each a
    /// 401, the metrics count every one, the log grows by at most the refusal limit.
    func flood(_ gateway: GatewayUnderTest, seconds: Double) async throws -> PhaseReport {
        var report = PhaseReport(name: "flood of bad tokens: \(Self.floodConnections) connections, \(Int(seconds)) s")
        let bad = try await BadCredentials.make(user: self.users[0], stranger: self.stranger, authority: "127.0.0.1:\(gateway.port)", serverName: "127.0.0.1")
        guard let forged = bad.first(where: { $0.name == BadCredentials.forgedToken })?.request else { throw ExchangeFailure(description: "no forged token") }
        let refusedBefore = try await self.refusals(gateway)
        let linesBefore = gateway.logLines
        let tally = Tally()
        let deadline = tally.start + .milliseconds(Int64(seconds * 1000))
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<Self.floodConnections {
                group.addTask {
                    let connection = SoakConnection(host: "127.0.0.1", port: gateway.port)
                    while ContinuousClock.now < deadline {
                        let started = ContinuousClock.now
                        do {
                            let answer = try await connection.exchange(forged)
                            tally.answered(.bad, status: answer.status, took: ContinuousClock.now - started)
                            if answer.status != 401 { tally.unexpected(.bad, "\(answer.status) \(answer.body.prefix(80))") }
                        } catch {
                            tally.connectionError(.bad, "\(error)")
                        }
                    }
                    await connection.close()
                }
            }
        }
        try await Task.sleep(for: .seconds(1))
        let refused = try await self.refusals(gateway) - refusedBefore
        let lines = gateway.logLines - linesBefore
        report.answers(tally, seconds: seconds)
        let state = tally.snapshot
        let answered = state.statuses[.bad]?.values.reduce(0, +) ?? 0
        report.check(state.unexpected == 0 && state.connectionErrors == 0, "\(state.unexpected) answers other than 401, \(state.connectionErrors) exchanges without an answer")
        report.check(refused == answered, "crtauth_authentications_total{result=\"failure\"} grew by \(refused) for \(answered) refusals")
        let allowed = (Int(seconds / 10) + 2) * Self.refusalLinesPer10s
        report.check(lines <= allowed, "the log grew by \(lines) lines for \(answered) refusals (≤ \(allowed))")
        report.check(gateway.alive, "the gateway is running")
        return report
    }

    /// The mixed load for `seconds` while `inject` adds faults: only 200/401/403/502/503
    /// answers, no exchange without an answer, valid credentials admitted again within
    /// ``recovery`` seconds of each fault's end, no key added that is missing afterwards.
    func faults(_ name: String, _ gateway: GatewayUnderTest, seconds: Double, inject: (Faults) -> Void) async throws -> PhaseReport {
        var report = PhaseReport(name: "faults: \(name), \(Int(seconds)) s")
        let tally = Tally()
        let faults = Faults(start: tally.start)
        inject(faults)
        try await self.load(gateway, seconds: seconds, expectation: .admittedOrFault, tally: tally)
        faults.wait()
        report.answers(tally, seconds: seconds)
        let state = tally.snapshot, record = faults.snapshot
        for window in record.windows {
            let last = state.refusedValid.filter { $0 >= window.start && $0 <= window.end + Self.recovery }.max()
            report.lines.append("  \(window.what): down \(String(format: "%.1f", window.start))–\(String(format: "%.1f", window.end)) s; last valid credential refused at \(last.map { String(format: "%.1f s", $0) } ?? "none")")
        }
        if record.rotations > 0 { report.lines.append("  secret rotations (SIGHUP): \(record.rotations)") }
        if !record.added.isEmpty { report.lines.append("  keys added: \(record.added.count), removed: \(record.removed.count)") }
        report.check(state.unexpected == 0, "\(state.unexpected) answers other than 200/401/403/502/503 to a valid credential or a 4xx to a bad one")
        report.check(state.connectionErrors == 0, "\(state.connectionErrors) exchanges without an answer")
        let outside = state.refusedValid.filter { time in !record.windows.contains { time >= $0.start && time <= $0.end + Self.recovery } }
        report.check(outside.isEmpty, "\(state.refusedValid.count) valid credentials refused, \(outside.count) of them outside a fault or more than \(Int(Self.recovery)) s after it ended\(outside.first.map { String(format: " (first at %.1f s)", $0) } ?? "")")
        report.check(record.failures.isEmpty, "fault injection: \(record.failures.isEmpty ? "no failures" : record.failures.prefix(3).joined(separator: "; "))")
        if !record.added.isEmpty {
            let lost = try faults.lostKeys(in: gateway)
            report.check(lost.isEmpty, "keys reported added are listed, removed ones are not\(lost.isEmpty ? "" : ": " + lost.prefix(3).joined(separator: "; "))")
        }
        report.check(gateway.alive, "the gateway is running")
        return report
    }

    /// The sum of the gateway's `crtauth_authentications_total{result="failure"}` series.
    func refusals(_ gateway: GatewayUnderTest) async throws -> Int {
        let connection = SoakConnection(host: "127.0.0.1", port: gateway.adminPort)
        let answer = try await connection.exchange(SoakRequest(path: "/metrics"))
        await connection.close()
        guard answer.status == 200 else { throw ExchangeFailure(description: "/metrics answered \(answer.status)") }
        return answer.body.split(separator: "\n")
            .filter { $0.hasPrefix("crtauth_authentications_total{") && $0.contains(#"result="failure""#) }
            .compactMap { Double($0.split(separator: " ").last ?? "") }
            .reduce(0) { $0 + Int($1) }
    }
}
