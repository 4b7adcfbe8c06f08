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
        guard let value = values.first else { return (nil, .malformed(reason: "missing X-CHAP header", auditResult: nil)) }
        guard values.count == 1 else { return (nil, .malformed(reason: "more than one X-CHAP header", auditResult: nil)) }
        guard value.utf8.count <= ChapAuthorization.maximumLength else { return (nil, .malformed(reason: "X-CHAP header too long", auditResult: nil)) }
        guard let parts = ChapAuthorization.split(value) else { return (nil, .malformed(reason: "X-CHAP header must be 'method:payload'", auditResult: nil)) }
        let method = String(Substring(parts.method))
        let payload = String(Substring(parts.payload))
        let stage: Stage
        switch method {
        case "request": stage = .challenge
        case "response": stage = .token
        default: return (nil, .malformed(reason: "unknown X-CHAP method (expected request or response)", auditResult: nil))
        }
        do {
            if stage == .challenge {
                let request = CRTAuthRequest.classify(payload)
                switch try await server.createChallenge(for: request, now: now) {
                case .success(let challenge): return (stage, .exchange(xCHAP: "challenge:" + challenge.encoded, identity: nil))
                case .failure(let failure): return (stage, .refused(failure, scheme: .handshake(request.version)))
                }
            }
            switch try await server.createToken(response: payload, now: now) {
            case .success(let issued): return (stage, .exchange(xCHAP: "token:" + issued.token.encoded, identity: issued.identity))
            case .failure(let failure): return (stage, .refused(failure, scheme: .handshakeOfUnknownVersion))
            }
        } catch let error as AuthCoreError {
            return (stage, .unavailable(detail: error.message))
        } catch let error as CRTAuthError {
            return (stage, .malformed(reason: error.message, auditResult: "malformed-\(method)"))
        } catch {
            return (stage, .malformed(reason: "malformed handshake", auditResult: "malformed-\(method)"))
        }
    }
}
