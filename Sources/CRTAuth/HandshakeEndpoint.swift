import AuthCore

/// The crtauth handshake endpoint (`/_auth`), whatever framework serves it: the `X-CHAP`
/// values of a request in, the answer to send out. The framework checks the method (GET, HEAD
/// or POST) and turns the answer into its response; everything else — parsing, the server's
/// decisions, what the audit log is told — is decided here once.
public enum HandshakeEndpoint {
    /// The handshake stage a request was for (for metrics).
    public enum Stage: String, Sendable {
        case challenge, token
    }

    /// What to answer.
    public enum Answer: Sendable {
        /// 200 with `X-CHAP: <xCHAP>` and an empty body. `identity` is set when a token was
        /// issued (audit it as a success).
        case exchange(xCHAP: String, identity: AuthenticatedIdentity?)
        /// 403 with ``forbiddenBody``; audit the failure under `scheme`.
        case refused(AuthenticationFailure, scheme: IdentityScheme)
        /// 400 with `reason` as the body; when `auditResult` is set, audit it (a malformed message).
        case malformed(reason: String, auditResult: String?)
        /// 503 with `Retry-After`: the key store failed (`detail` is for the log).
        case unavailable(detail: String)
    }

    /// The body of a 403, as Python's and Java's servers send it.
    public static let forbiddenBody = "Failed to authenticate user"

    /// Answers one handshake request carrying `xCHAP` (every `X-CHAP` value of the request).
    public static func answer(xCHAP values: [String], server: AuthServer, now: UInt64) async -> (stage: Stage?, answer: Answer) {
        let message: Message
        switch Message.read(values) {
        case .failure(let malformed): return (nil, malformed.answer)
        case .success(let read): message = read
        }
        do {
            switch message.stage {
            case .challenge:
                let request = CRTAuthRequest.classify(message.payload)
                return (.challenge, Self.answer(challenge: try await server.createChallenge(for: request, now: now), version: request.version))
            case .token:
                return (.token, Self.answer(token: try await server.createToken(response: message.payload, now: now)))
            }
        } catch {
            return (message.stage, Self.answer(message, error: error))
        }
    }

    /// ``answer(xCHAP:server:now:)`` on the calling thread, when the server's key provider
    /// answers without waiting (``KeyProvider/keysWithoutWaiting(for:)``); nil when it cannot.
    public static func answerWithoutWaiting(xCHAP values: [String], server: AuthServer, now: UInt64) -> (stage: Stage?, answer: Answer)? {
        let message: Message
        switch Message.read(values) {
        case .failure(let malformed): return (nil, malformed.answer)
        case .success(let read): message = read
        }
        do {
            switch message.stage {
            case .challenge:
                let request = CRTAuthRequest.classify(message.payload)
                return try server.createChallengeWithoutWaiting(for: request, now: now).map { (.challenge, Self.answer(challenge: $0, version: request.version)) }
            case .token:
                return try server.createTokenWithoutWaiting(response: message.payload, now: now).map { (.token, Self.answer(token: $0)) }
            }
        } catch {
            return (message.stage, Self.answer(message, error: error))
        }
    }

    /// An `X-CHAP` value read: `request:<request>` or `response:<response>`.
    struct Message {
        let stage: Stage
        let method: String
        let payload: String

        struct Malformed: Error {
            let reason: String
            var answer: Answer { .malformed(reason: self.reason, auditResult: nil) }
        }

        static func read(_ values: [String]) -> Result<Message, Malformed> {
            guard let value = values.first else { return .failure(Malformed(reason: "missing X-CHAP header")) }
            guard values.count == 1 else { return .failure(Malformed(reason: "more than one X-CHAP header")) }
            guard value.utf8.count <= ChapAuthorization.maximumLength else { return .failure(Malformed(reason: "X-CHAP header too long")) }
            guard let parts = ChapAuthorization.split(value) else { return .failure(Malformed(reason: "X-CHAP header must be 'method:payload'")) }
            let method = String(Substring(parts.method))
            switch method {
            case "request": return .success(Message(stage: .challenge, method: method, payload: String(Substring(parts.payload))))
            case "response": return .success(Message(stage: .token, method: method, payload: String(Substring(parts.payload))))
            default: return .failure(Malformed(reason: "unknown X-CHAP method (expected request or response)"))
            }
        }
    }

    private static func answer(challenge outcome: AuthenticationOutcome<CRTAuthChallenge>, version: CRTAuthVersion) -> Answer {
        switch outcome {
        case .success(let challenge): .exchange(xCHAP: "challenge:" + challenge.encoded, identity: nil)
        case .failure(let failure): .refused(failure, scheme: .handshake(version))
        }
    }

    private static func answer(token outcome: AuthenticationOutcome<(token: CRTAuthToken, identity: AuthenticatedIdentity)>) -> Answer {
        switch outcome {
        case .success(let issued): .exchange(xCHAP: "token:" + issued.token.encoded, identity: issued.identity)
        case .failure(let failure): .refused(failure, scheme: .handshakeOfUnknownVersion)
        }
    }

    private static func answer(_ message: Message, error: any Error) -> Answer {
        switch error {
        case let error as AuthCoreError: .unavailable(detail: error.message)
        case let error as CRTAuthError: .malformed(reason: error.message, auditResult: "malformed-\(message.method)")
        default: .malformed(reason: "malformed handshake", auditResult: "malformed-\(message.method)")
        }
    }
}
