import AuthCore
import Crypto
import Foundation
import CRTAuth
import SSHAgent
import SSHKeys
import Testing
import TestSupport

/// The real crtauth 0.99.4 on Python 2.7, installed by ./scripts/test
/// (CRTAUTH_TEST_PY2 and CRTAUTH_TEST_PY2_PATH name the interpreter and its packages).
struct PythonCRTAuth {
    let python: String
    let path: String

    init() throws {
        let env = ProcessInfo.processInfo.environment
        guard let python = env["CRTAUTH_TEST_PY2"], let path = env["CRTAUTH_TEST_PY2_PATH"] else {
            throw ProcessError(message: "the Python crtauth peer is not installed: run ./scripts/test (it sets CRTAUTH_TEST_PY2 and CRTAUTH_TEST_PY2_PATH)")
        }
        self.python = python
        self.path = path
    }

    static var script: String {
        Bundle.module.url(forResource: "Peers", withExtension: nil)!.appendingPathComponent("crtauth_peer.py").path
    }

    func run(_ arguments: [String], environment: [String: String] = [:]) throws -> String {
        let result = try runProcess(self.python, [Self.script] + arguments, environment: environment.merging(["PYTHONPATH": self.path]) { $1 })
        guard result.status == 0 else {
            throw ProcessError(message: "crtauth (Python) \(arguments.first ?? ""): \(result.stderr)")
        }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

@Suite("Interop with the real Python crtauth 0.99.4")
struct PythonInteropTests {
    static let now: UInt64 = 1_800_000_000
    static let secret = "shared-secret"

    /// A real ssh-agent holding a fresh RSA-2048 key made by ssh-keygen.
    static func agentWithRSAKey() throws -> (SSHAgentProcess, SSHPublicKey) {
        let agent = try SSHAgentProcess()
        let dir = try TemporaryDirectory()
        try agent.add(try sshKeygen(dir, name: "id_rsa", type: "rsa", bits: 2048))
        return (agent, try SSHPublicKey(openSSHLine: dir.read("id_rsa.pub")))
    }

    static func keyDirectory(_ key: SSHPrivateKey, user: String) throws -> TemporaryDirectory {
        let dir = try TemporaryDirectory()
        _ = try dir.write("\(user)_id_rsa.pub", key.publicKey.openSSHLine(comment: "\(user)@test") + "\n")
        return dir
    }

    @Test("Python client (SingleKeySigner) → our server → our token; v0 and v1", arguments: [CRTAuthVersion.v0, .v1])
    func pythonClientOurServer(_ version: CRTAuthVersion) async throws {
        let peer = try PythonCRTAuth()
        let dir = try TemporaryDirectory()
        let keyPath = try sshKeygen(dir, name: "id_rsa", type: "rsa", bits: 2048, extra: ["-m", "PEM"])
        let key = try SSHPrivateKey(fileContents: dir.read("id_rsa"))
        let server = try AuthServer(configuration: .init(serverName: "localhost", secrets: [SymmetricKey(data: Array(Self.secret.utf8))]), keyProvider: InMemoryKeyProvider(keys: ["alice": [key.publicKey]]))

        let requestValue = version == .v0 ? "alice" : try peer.run(["request", "alice"])
        let request = CRTAuthRequest.classify(requestValue)
        #expect(request.version == version && request.username == "alice")
        guard case .success(let challenge) = try await server.createChallenge(for: request, now: Self.now) else { Issue.record("no challenge"); return }
        let response = try peer.run(["respond", challenge.encoded, "localhost", "--key", keyPath])
        guard case .success(let issued) = try await server.createToken(response: response, now: Self.now + 1) else { Issue.record("refused"); return }
        #expect(issued.identity.username == "alice")
        #expect(try server.validateToken(issued.token.encoded, now: Self.now + 2).value == "alice")
    }

    @Test("Python client with AgentSigner on a real ssh-agent → our server")
    func pythonAgentClient() async throws {
        let peer = try PythonCRTAuth()
        let (agent, key) = try Self.agentWithRSAKey()
        defer { agent.stop() }
        let server = try AuthServer(configuration: .init(serverName: "localhost", secrets: [SymmetricKey(data: Array(Self.secret.utf8))]), keyProvider: InMemoryKeyProvider(keys: ["alice": [key]]))
        for version in [CRTAuthVersion.v0, .v1] {
            guard case .success(let challenge) = try await server.createChallenge(for: CRTAuthRequest(username: "alice", version: version), now: Self.now) else { return }
            let response = try peer.run(["respond", challenge.encoded, "localhost", "--agent"], environment: agent.environment)
            #expect(try await server.createToken(response: response, now: Self.now + 1).value?.identity.username == "alice")
        }
    }

    @Test("our client (key in a real ssh-agent) → Python server → Python v0 token → validated by us, and ours by Python", arguments: [CRTAuthVersion.v0, .v1])
    func ourClientPythonServer(_ version: CRTAuthVersion) async throws {
        let peer = try PythonCRTAuth()
        let (agent, key) = try Self.agentWithRSAKey()
        defer { agent.stop() }
        let keys = try Self.keyDirectory(try SSHPrivateKey(generating: .ed25519), user: "nobody-here")
        _ = try keys.write("alice_id_rsa.pub", key.openSSHLine(comment: "alice@test") + "\n")

        let request = CRTAuthClientResponder.request(username: "alice", version: version)
        let challenge = try peer.run(["challenge", Self.secret, keys.path, "localhost", "alice", String(version.rawValue), String(Self.now)])
        let signer = try await SSHAgentClient(socketPath: agent.socketPath).signer(for: key)
        let response = try await CRTAuthClientResponder.respond(to: challenge, serverName: "localhost", signers: [signer])
        #expect(CRTAuthRequest.classify(request).version == version)
        let token = try peer.run(["token", Self.secret, keys.path, "localhost", response.encoded, String(Self.now + 1)])
        #expect(token.hasPrefix("dgAAA"))

        let ours = try AuthServer(configuration: .init(serverName: "localhost", secrets: [SymmetricKey(data: Array(Self.secret.utf8))], tokenFormat: .v0), keyProvider: InMemoryKeyProvider())
        #expect(try ours.validateToken(token, now: Self.now + 2).value == "alice")
        let ourToken = ours.issueToken(for: "bob", now: Self.now)
        #expect(try peer.run(["validate", Self.secret, ourToken.encoded, String(Self.now + 1)]) == "bob")
        #expect(throws: ProcessError.self) { try peer.run(["validate", "other-secret", ourToken.encoded, String(Self.now + 1)]) }
    }

    @Test("a Python v1 challenge with a 32-byte username (str16) is answered by our client, and our str8 request is read by Python")
    func longUsernames() async throws {
        let peer = try PythonCRTAuth()
        let user = String(repeating: "u", count: 40)
        let dir = try TemporaryDirectory()
        let keyPath = try sshKeygen(dir, name: "id_rsa", type: "rsa", bits: 2048, extra: ["-m", "PEM"])
        let key = try SSHPrivateKey(fileContents: dir.read("id_rsa"))
        _ = try dir.write("\(user)_id_rsa.pub", key.publicKey.openSSHLine(comment: "x") + "\n")
        let challenge = try peer.run(["challenge", Self.secret, dir.path, "localhost", user, "1", String(Self.now)])
        #expect(Base64URL.decode(challenge).map { $0.contains(0xDA) } == true)
        let response = try await CRTAuthClientResponder.respond(to: challenge, serverName: "localhost", signers: [key])
        #expect(try peer.run(["token", Self.secret, dir.path, "localhost", response.encoded, String(Self.now + 1)]).hasPrefix("dgAAA"))
        // Python's own request for it uses str16, which our server reads as v1.
        let pythonRequest = try peer.run(["request", user])
        #expect(CRTAuthRequest.classify(pythonRequest) == CRTAuthRequest(username: user, version: .v1))
        _ = keyPath
    }
}
