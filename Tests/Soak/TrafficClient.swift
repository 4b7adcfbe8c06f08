/// One of the load's concurrent clients: a keep-alive connection sending the mix until the
/// deadline — 70 % requests with its crtauth token, 10 % full handshakes (RSA v1 and Ed25519
/// v2, alternately; each gives the client its next token), 10 % fresh JWTs and RFC 9421
/// signatures, 10 % bad credentials — and judging every answer.
struct TrafficClient: Sendable {
    /// What the phase allows: a valid credential admitted and a bad one a 4xx; in a fault
    /// phase also a valid one refused with 401, 403, 502 or 503, and a bad one with 503 (the
    /// store that would tell is down).
    enum Expectation: Sendable {
        case admitted
        case admittedOrFault
    }

    /// The path every authenticated request asks for; the upstream answers with the user it was
    /// told (X-Authenticated-User), which must be this client's.
    static let path = "/soak"
    static let faultStatuses: Set<Int> = [401, 403, 502, 503]
    /// A token is renewed this long before it expires.
    static let tokenMargin: Duration = .seconds(10)

    let index: Int
    let host: String
    let port: Int
    let serverName: String
    let user: SoakUser
    let bad: [(name: String, request: SoakRequest)]
    let tokenLifetime: Duration
    let expectation: Expectation
    let tally: Tally

    func run(until deadline: ContinuousClock.Instant) async {
        let connection = SoakConnection(host: self.host, port: self.port)
        var random = SplitMix(seed: UInt64(self.index))
        var token: (value: String, renewBy: ContinuousClock.Instant)?
        var handshakes = self.index
        while ContinuousClock.now < deadline {
            let draw = random.next() % 100
            let kind: TrafficKind
            switch draw {
            case ..<70 where token.map({ ContinuousClock.now < $0.renewBy }) ?? false: kind = .chap
            case ..<80: kind = handshakes % 2 == 0 ? .handshakeRSA : .handshakeEd25519
            case ..<85: kind = .jwt
            case ..<90: kind = .httpSignature
            case ..<100: kind = .bad
            default: kind = handshakes % 2 == 0 ? .handshakeRSA : .handshakeEd25519
            }
            let started = ContinuousClock.now
            do {
                switch kind {
                case .handshakeRSA, .handshakeEd25519:
                    handshakes += 1
                    let (answer, issued) = try await self.user.handshake(kind, over: connection, serverName: self.serverName)
                    if let issued { token = (issued, started + self.tokenLifetime - Self.tokenMargin) }
                    self.judge(kind, answer, admitted: issued != nil, took: ContinuousClock.now - started)
                case .bad:
                    let item = self.bad[Int(random.next() % UInt64(self.bad.count))]
                    let answer = try await connection.exchange(item.request)
                    self.tally.answered(.bad, status: answer.status, took: ContinuousClock.now - started)
                    let refused = (400..<500).contains(answer.status) || (self.expectation == .admittedOrFault && answer.status == 503)
                    if !refused { self.tally.unexpected(.bad, "\(item.name): \(answer.status) \(answer.body.prefix(80))") }
                default:
                    let request = switch kind {
                    case .jwt: try await self.user.jwtRequest(Self.path)
                    case .httpSignature: try await self.user.signedRequest(Self.path, authority: "\(self.host):\(self.port)")
                    default: SoakRequest(path: Self.path, fields: [("Authorization", "chap:" + (token?.value ?? ""))])
                    }
                    let answer = try await connection.exchange(request)
                    self.judge(kind, answer, admitted: answer.status == 200 && answer.body == self.user.name, took: ContinuousClock.now - started)
                }
            } catch {
                self.tally.connectionError(kind, "\(error)")
            }
        }
        await connection.close()
    }

    private func judge(_ kind: TrafficKind, _ answer: SoakAnswer, admitted: Bool, took: Duration) {
        self.tally.answered(kind, status: answer.status, took: took)
        if admitted { return }
        if self.expectation == .admittedOrFault, Self.faultStatuses.contains(answer.status) {
            self.tally.refusedValid()
        } else {
            self.tally.unexpected(kind, "\(answer.status) \(answer.body.prefix(80)) (user \(self.user.name))")
        }
    }
}

/// A small seeded generator (SplitMix64), so that a client's sequence is the same each run.
struct SplitMix: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { self.state = seed &+ 0x9E37_79B9_7F4A_7C15 }

    mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var value = self.state
        value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
        value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
        return value ^ (value >> 31)
    }
}
