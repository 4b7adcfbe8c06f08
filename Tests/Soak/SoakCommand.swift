import ArgumentParser
import Foundation
import SSHKeys
import TestSupport

/// `./scripts/soak`'s program (issue #18): a real `crtauth serve` with the SQLite store, an
/// nginx upstream and, for the last phase, PostgreSQL, all on loopback and stopped by pid;
/// the load comes from this process. Prints one report per phase; exits 1 when any failed.
@main
struct SoakCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crtauth-soak",
        abstract: "Soak a real crtauth gateway under mixed traffic, a flood of bad tokens, and faults.",
        discussion: """
            Phases: steady (the mix for --minutes: 70 % chap tokens, 10 % handshakes RSA v1 and Ed25519 v2, \
            10 % JWT and RFC 9421, 10 % bad credentials), flood (bad tokens as fast as the machine allows), \
            faults (the mix while secrets rotate by SIGHUP every 10 s, keys are added and removed, and the upstream is killed \
            and restarted), postgres (the mix with the PostgreSQL store while PostgreSQL restarts twice).
            """
    )

    @Option(help: "Minutes of steady load.")
    var minutes: Double = 10
    @Option(name: .customLong("fault-seconds"), help: "Seconds of each fault phase. Default: 120, or the steady load's length if shorter.")
    var faultSeconds: Double?
    @Option(name: .customLong("flood-seconds"), help: "Seconds of the flood. Default: 60, or 15 for a soak of a few minutes.")
    var floodSeconds: Double?
    @Option(help: "Concurrent connections of the mixed load.")
    var connections = 256
    @Option(help: "Users the connections share (each with an RSA and an Ed25519 key).")
    var users = 8
    @Option(help: "Phases to run, comma-separated: steady, flood, faults, postgres.")
    var phases = "steady,flood,faults,postgres"
    @Option(help: "The crtauth executable. Default: the one built beside this program.")
    var crtauth: String?
    @Option(help: "nginx, the upstream. Default: $CRTAUTH_TEST_NGINX or /usr/sbin/nginx.")
    var nginx: String?

    func run() async throws {
        let chosen = Set(self.phases.split(separator: ",").map { String($0.trimmingCharacters(in: .whitespaces)) })
        let known: Set<String> = ["steady", "flood", "faults", "postgres"]
        guard chosen.isSubset(of: known), !chosen.isEmpty else { throw ValidationError("--phases takes \(known.sorted().joined(separator: ", "))") }
        let crtauth = try self.crtauth ?? crtauthExecutable()
        let nginx = self.nginx ?? ProcessInfo.processInfo.environment["CRTAUTH_TEST_NGINX"] ?? "/usr/sbin/nginx"
        let steadySeconds = self.minutes * 60
        let faultSeconds = self.faultSeconds ?? min(120, steadySeconds)
        let floodSeconds = self.floodSeconds ?? (self.minutes >= 5 ? 60 : 15)

        say("crtauth-soak: \(self.connections) connections, \(self.users) users; steady \(Int(steadySeconds)) s, flood \(Int(floodSeconds)) s, faults \(Int(faultSeconds)) s each; \(crtauth)\n")
        let users = try await withThrowingTaskGroup(of: SoakUser.self) { group in
            for index in 0..<self.users { group.addTask { try SoakUser(name: "soak-\(index)") } }
            return try await group.reduce(into: []) { $0.append($1) }.sorted { $0.name < $1.name }
        }
        let soak = SoakPhases(crtauth: crtauth, connections: self.connections, users: users, stranger: try SSHPrivateKey(generating: .ed25519))
        var reports: [PhaseReport] = []
        func finish(_ report: PhaseReport, _ gateway: GatewayUnderTest) {
            var report = report
            if !report.passed { report.lines += gateway.problems().map { "  log: " + $0 } }
            say(report.printed())
            reports.append(report)
        }

        let upstream = try NginxUpstream(binary: nginx)
        defer { upstream.stop() }
        if !chosen.isDisjoint(with: ["steady", "flood", "faults"]) {
            let directory = try TemporaryDirectory()
            let gateway = try GatewayUnderTest(crtauth: crtauth, store: "sqlite:" + directory.file("keys.sqlite"), upstream: upstream.url, name: "sqlite")
            defer { gateway.stop() }
            try soak.enroll(gateway)
            if chosen.contains("steady") {
                finish(try await soak.steady(gateway, seconds: steadySeconds, warmUp: min(120, steadySeconds / 5)), gateway)
            }
            if chosen.contains("flood") {
                finish(try await soak.flood(gateway, seconds: floodSeconds), gateway)
            }
            if chosen.contains("faults") {
                finish(try await soak.faults("SIGHUP rotation, keys added and removed, upstream killed", gateway, seconds: faultSeconds) { faults in
                    faults.rotateSecrets(of: gateway, until: faultSeconds)
                    faults.churnKeys(of: gateway, until: faultSeconds - 2)
                    faults.outage("upstream killed", at: faultSeconds / 3, stop: { upstream.kill() }, start: { try upstream.start() })
                }, gateway)
            }
        }
        if chosen.contains("postgres") {
            let database = try PostgresServer()
            defer { database.stop() }
            let gateway = try GatewayUnderTest(crtauth: crtauth, store: database.url, upstream: upstream.url, name: "postgres")
            defer { gateway.stop() }
            try soak.enroll(gateway)
            finish(try await soak.faults("PostgreSQL restarted twice, SIGHUP rotation", gateway, seconds: faultSeconds) { faults in
                faults.rotateSecrets(of: gateway, until: faultSeconds)
                faults.outage("PostgreSQL restart 1", at: faultSeconds / 4, stop: { database.stop() }, start: { try database.start() })
                faults.outage("PostgreSQL restart 2", at: faultSeconds * 0.6, stop: { database.stop() }, start: { try database.start() })
            }, gateway)
        }
        let failed = reports.filter { !$0.passed }.map(\.name)
        say(failed.isEmpty ? "soak: pass (\(reports.count) phases)\n" : "soak: FAIL in \(failed.joined(separator: "; "))\n")
        if !failed.isEmpty { throw ExitCode(1) }
    }
}

/// Writes `text` to standard output at once (print's buffer would hold it until exit when the
/// output is a file).
func say(_ text: String) {
    FileHandle.standardOutput.write(Data(text.utf8))
}
