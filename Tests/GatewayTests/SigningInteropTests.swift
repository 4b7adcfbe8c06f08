import CRTAuthSignatures
import Foundation
import SSHKeys
import TestSupport
import Testing

/// The per-request schemes against their real peers on loopback: asymmetric_jwt_auth 1.3.0
/// (and its Django middleware), http-message-signatures 3.0.0, and paramiko signing as
/// serveradmin's adminapi does.
@Suite("per-request signatures with real peers", .serialized)
struct SigningInteropTests {
    /// The Python 3 venv of scripts/test.
    static func python() throws -> String {
        guard let python = ProcessInfo.processInfo.environment["CRTAUTH_TEST_PYTHON"] else {
            throw ProcessError(message: "CRTAUTH_TEST_PYTHON is not set: run the tests with ./scripts/test, which installs the Python peers")
        }
        return python
    }

    static func peer(_ arguments: [String], environment: [String: String] = [:]) throws -> String {
        try mustRun(try python(), [try Python2.peer("signing_peers.py")] + arguments, environment: environment.isEmpty ? nil : environment)
    }

    /// `crtauth keys add` into the gateway's default store; returns the key's fingerprint.
    static func enroll(_ dir: TemporaryDirectory, _ user: String, _ publicKeyFile: String) throws -> String {
        let added = try mustRun(try crtauthExecutable(), ["keys", "add", user, publicKeyFile, "--data-dir", dir.file("data")])
        return String(added.split(separator: " ")[1])
    }

    static func headers(_ text: String) -> [String] {
        text.split(separator: "\n").map(String.init).filter { $0.contains(": ") }
    }

    static func identity(_ exchange: HTTPExchange) -> [String: String] {
        (try? JSONSerialization.jsonObject(with: Data(exchange.body.utf8)) as? [String: String]) ?? [:]
    }

    @Test("asymmetric_jwt_auth's own tokens (EdDSA, RS512) are accepted by crtauth serve, once each")
    func jwtFromPython() throws {
        let dir = try TemporaryDirectory()
        for kind in ["ed25519", "rsa"] {
            _ = try Self.peer(["keypair", kind, dir.file(kind)])
            _ = try Self.enroll(dir, "alice", dir.file(kind + ".pub"))
        }
        let gateway = try GatewayProcess(dir, ["--schemes", "chap,jwt"])
        defer { gateway.stop() }
        for kind in ["ed25519", "rsa"] {
            let header = try Self.peer(["jwt-header", dir.file(kind + ".pem"), "alice"]).trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(header.hasPrefix("JWT "))
            let first = try curl(gateway.url("/whoami"), headers: ["Authorization: " + header])
            #expect(first.status == 200, "\(kind): \(first.body)")
            #expect(Self.identity(first)["user"] == "alice" && Self.identity(first)["scheme"] == "jwt")
            let replay = try curl(gateway.url("/whoami"), headers: ["Authorization: " + header])
            #expect(replay.status == 401)
        }
        #expect(gateway.logText.contains("reason=replayed"))
        // A 401 names both schemes.
        let anonymous = try curl(gateway.url("/whoami"))
        #expect(anonymous.status == 401 && anonymous.headers.filter { $0.0.lowercased() == "www-authenticate" }.map(\.1) == ["chap", "JWT"])
    }

    @Test("crtauth jwt (agent keys and OpenSSH key files) authenticates to Django's JWTAuthMiddleware")
    func jwtToDjango() throws {
        let dir = try TemporaryDirectory()
        let ed25519 = try sshKeygen(dir, name: "ed", type: "ed25519")
        let rsa = try sshKeygen(dir, name: "rsa", type: "rsa", bits: 2048)
        let agent = try SSHAgentProcess()
        defer { agent.stop() }
        try agent.add(ed25519)
        let log = dir.file("django.log")
        let django = try ChildProcess(try Self.python(), [try Python2.peer("signing_peers.py"), "django", "alice", ed25519 + ".pub", rsa + ".pub"], output: log)
        defer { django.stop() }
        guard let line = waitForLine(in: log, matching: "port ", timeout: 60), let port = Int(line.split(separator: " ").last ?? "") else {
            throw ProcessError(message: "the Django peer did not start: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
        }
        let url = "http://127.0.0.1:\(port)/whoami"
        #expect(try curl(url).status == 401)
        for arguments in [["--identity", ed25519], ["--identity", rsa], []] {
            let header = try mustRun(try crtauthExecutable(), ["jwt", "--user", "alice"] + arguments, environment: agent.environment).trimmingCharacters(in: .whitespacesAndNewlines)
            let answer = try curl(url, headers: ["Authorization: " + header])
            #expect(answer.status == 200 && answer.body == "alice\n", "\(arguments): \(answer.status) \(answer.body)")
        }
        // Another user's name with alice's key: refused.
        let mallory = try mustRun(try crtauthExecutable(), ["jwt", "--user", "mallory", "--identity", ed25519]).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try curl(url, headers: ["Authorization: " + mallory]).status == 401)
    }

    @Test("http-message-signatures' signatures (ed25519, ecdsa-p256; GET and POST with Content-Digest) pass crtauth serve")
    func httpSignaturesFromPython() throws {
        let dir = try TemporaryDirectory()
        let gateway: GatewayProcess
        var keyIDs: [String: String] = [:]
        for kind in ["ed25519", "p256"] {
            _ = try Self.peer(["keypair", kind, dir.file(kind)])
            keyIDs[kind] = try Self.enroll(dir, "alice", dir.file(kind + ".pub"))
        }
        gateway = try GatewayProcess(dir, ["--schemes", "signature"])
        defer { gateway.stop() }
        for kind in ["ed25519", "p256"] {
            for (method, body) in [("GET", ""), ("POST", "hello, signed world")] {
                let url = gateway.url("/whoami")
                let fields = Self.headers(try Self.peer(["httpsig-sign", dir.file(kind + ".pem"), keyIDs[kind]!, method, url] + (body.isEmpty ? [] : [body])))
                let answer = try curl(url, method: method, headers: fields, body: body.isEmpty ? nil : body)
                #expect(answer.status == 200, "\(kind) \(method): \(answer.status) \(answer.body)")
                #expect(Self.identity(answer)["scheme"] == "signature" && Self.identity(answer)["key"] == keyIDs[kind])
                // The same signature against another path, or again: refused.
                #expect(try curl(gateway.url("/whoami?admin=1"), method: method, headers: fields, body: body.isEmpty ? nil : body).status == 401)
                #expect(try curl(url, method: method, headers: fields, body: body.isEmpty ? nil : body).status == 401)
            }
        }
        let anonymous = try curl(gateway.url("/whoami"))
        #expect(anonymous.status == 401 && anonymous.header("Accept-Signature") == HTTPMessageSignatures.acceptSignature)
    }

    @Test("what we sign (ed25519, ecdsa-p256; with a body), http-message-signatures verifies")
    func httpSignaturesToPython() async throws {
        let dir = try TemporaryDirectory()
        for kind in ["ed25519", "p256"] {
            _ = try Self.peer(["keypair", kind, dir.file(kind)])
            let key = try SSHPrivateKey(fileContents: try dir.read(kind + ".pem"))
            for body in ["", #"{"hello": "world"}"#] {
                let url = "http://api.example.com:8080/items/7?expand=owner"
                let message = try #require(HTTPMessageSignatures.Message(method: body.isEmpty ? "GET" : "PUT", url: URL(string: url)!, fields: []))
                let fields = try await HTTPMessageSignatures.sign(message, body: Array(body.utf8), signer: key, created: UInt64(Date().timeIntervalSince1970))
                let file = try dir.write("headers", fields.map { "\($0.name): \($0.value)" }.joined(separator: "\n") + "\n")
                let result = try Self.peer(["httpsig-verify", dir.file(kind + ".spki.pem"), key.publicKey.sha256Fingerprint, message.method, url, file] + (body.isEmpty ? [] : [body]))
                #expect(result.hasPrefix("ok "), "\(kind): \(result)")
                #expect(body.isEmpty || result.contains("content-digest"))
            }
        }
    }

    @Test("paramiko signing as serveradmin's adminapi does (agent keys: Ed25519 and RSA) is accepted")
    func serveradminFromParamiko() throws {
        let dir = try TemporaryDirectory()
        let ed25519 = try sshKeygen(dir, name: "ed", type: "ed25519")
        let rsa = try sshKeygen(dir, name: "rsa", type: "rsa", bits: 2048)
        _ = try Self.enroll(dir, "alice", ed25519 + ".pub")
        _ = try Self.enroll(dir, "alice", rsa + ".pub")
        let gateway = try GatewayProcess(dir, ["--schemes", "chap,serveradmin"])
        defer { gateway.stop() }
        for key in [ed25519, rsa] {
            let agent = try SSHAgentProcess()
            defer { agent.stop() }
            try agent.add(key)
            for body in ["", #"{"query": "hostname=web01"}"#] {
                let method = body.isEmpty ? "GET" : "POST"
                // serveradmin's window is ±16 s from the signer's clock: on a loaded CI machine a
                // Python start-up and three requests have taken longer than that, and the late
                // requests were (rightly) refused as expired. Such a round is signed again.
                for attempt in 1...3 {
                    let started = ContinuousClock.now
                    let fields = Self.headers(try Self.peer(["serveradmin-sign"] + (body.isEmpty ? [] : [body]), environment: agent.environment))
                    let answer = try curl(gateway.url("/whoami"), method: method, headers: fields, body: body.isEmpty ? nil : body)
                    let replayed = try curl(gateway.url("/whoami"), method: method, headers: fields, body: body.isEmpty ? nil : body).status
                    // Another body under the same signatures: a bad signature by a known key, 403.
                    let otherBody = body.isEmpty ? 403 : try curl(gateway.url("/whoami"), method: "POST", headers: fields, body: "{}").status
                    let passed = fields.count == 3 && answer.status == 200 && replayed == 401 && otherBody == 403
                    if !passed, attempt < 3, ContinuousClock.now - started > .seconds(12) { continue }
                    #expect(fields.count == 3)
                    #expect(answer.status == 200, "\(key) \(method): \(answer.body)")
                    #expect(Self.identity(answer)["scheme"] == "serveradmin" && Self.identity(answer)["user"] == "alice")
                    #expect(replayed == 401)
                    #expect(otherBody == 403)
                    break
                }
            }
        }
    }

    @Test("JWKS: the gateway publishes its keys (Ed25519 as OKP); a user trusting that JWKS URL authenticates with its key")
    func jwksTrust() throws {
        let dir = try TemporaryDirectory()
        let service = try sshKeygen(dir, name: "service", type: "ed25519")
        let gateway = try GatewayProcess(dir, ["--schemes", "jwt", "--jwks-key", service + ".pub"])
        defer { gateway.stop() }
        let published = try curl(gateway.url("/.well-known/jwks.json"))
        #expect(published.status == 200 && published.body.contains(#""kty":"OKP""#) && published.body.contains(#""use":"sig""#))
        let token = { try mustRun(try crtauthExecutable(), ["jwt", "--user", "carol", "--identity", service]).trimmingCharacters(in: .whitespacesAndNewlines) }
        // Not trusted yet: carol is unknown.
        #expect(try curl(gateway.url("/whoami"), headers: ["Authorization: " + token()]).status == 401)
        _ = try mustRun(try crtauthExecutable(), ["keys", "jwks", "carol", gateway.url("/.well-known/jwks.json"), "--data-dir", dir.file("data")])
        let answer = try curl(gateway.url("/whoami"), headers: ["Authorization: " + token()])
        #expect(answer.status == 200, "\(answer.body)")
        #expect(Self.identity(answer)["user"] == "carol" && Self.identity(answer)["scheme"] == "jwt")
        _ = try mustRun(try crtauthExecutable(), ["keys", "jwks", "carol", "--remove", "--data-dir", dir.file("data")])
        #expect(try curl(gateway.url("/whoami"), headers: ["Authorization: " + token()]).status == 401)
    }
}
