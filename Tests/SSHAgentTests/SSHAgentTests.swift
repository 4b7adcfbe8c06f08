import Foundation
import SSHAgent
import SSHKeys
import Testing
import TestSupport

@Suite("ssh-agent client against the real OpenSSH agent")
struct SSHAgentTests {
    @Test("lists keys added by ssh-add and signs with each RSA flag and every key type")
    func listAndSign() async throws {
        let agent = try SSHAgentProcess()
        defer { agent.stop() }
        let dir = try TemporaryDirectory()
        var expected: [SSHPublicKey] = []
        for (type, bits) in [("rsa", 2048), ("ed25519", 0), ("ecdsa", 256), ("ecdsa", 384), ("ecdsa", 521)] {
            let path = try sshKeygen(dir, name: "\(type)\(bits)", type: type, bits: bits == 0 ? nil : bits)
            try agent.add(path)
            expected.append(try SSHPublicKey(openSSHLine: dir.read("\(type)\(bits).pub")))
        }
        let client = SSHAgentClient(socketPath: agent.socketPath)
        let identities = try await client.identities()
        #expect(identities.map(\.publicKey) == expected)
        #expect(identities.first?.comment == "rsa2048@test")

        let data = Array("sign me".utf8)
        for identity in identities {
            let signature = try await client.sign(data, with: identity.identity)
            try identity.publicKey.verify(signature, for: data)
            if identity.publicKey.type == .rsa {
                #expect(signature.algorithm == .rsaSHA512)
                #expect(try await client.sign(data, with: identity.identity, algorithm: .rsaSHA256).algorithm == .rsaSHA256)
                let legacy = try await client.sign(data, with: identity.identity, algorithm: .insecureRSASHA1)
                #expect(legacy.algorithm == .insecureRSASHA1)
                try identity.publicKey.verify(legacy, for: data, policy: .insecureLegacySHA1)
            }
        }
    }

    @Test("adds our own keys (with constraints), removes one, removes all")
    func addRemove() async throws {
        let agent = try SSHAgentProcess()
        defer { agent.stop() }
        let client = SSHAgentClient(socketPath: agent.socketPath)
        var keys: [SSHPrivateKey] = []
        for type in [SSHKeyType.ed25519, .ecdsaP256, .ecdsaP384, .ecdsaP521, .rsa] {
            keys.append(try SSHPrivateKey(generating: type, rsaBits: 2048, comment: "ours-\(type.name)"))
        }
        for (index, key) in keys.enumerated() {
            try await client.add(key, constraints: index == 0 ? .init(lifetime: 600) : .init())
        }
        // ssh-add -L, the real tool, sees what we added.
        let listed = try mustRun("ssh-add", ["-L"], environment: agent.environment)
        for key in keys { #expect(listed.contains(key.publicKey.openSSHLine())) }

        let signer = try await client.signer(for: keys[4].publicKey)
        let signature = try await signer.sign([1, 2, 3], algorithm: .rsaSHA256)
        try keys[4].publicKey.verify(signature, for: [1, 2, 3])

        try await client.remove(.key(keys[0].publicKey))
        #expect(try await client.identities().count == 4)
        let error = await #expect(throws: SSHAgentError.self) { try await client.remove(.key(keys[0].publicKey)) }
        #expect(error?.code == .refused)
        let signError = await #expect(throws: SSHAgentError.self) { try await client.sign([1], with: .key(keys[0].publicKey)) }
        #expect(signError?.code == .refused)
        try await client.removeAll()
        #expect(try await client.identities().isEmpty)
        let noKey = await #expect(throws: SSHAgentError.self) { try await client.signer() }
        #expect(noKey?.code == .noMatchingKey)
    }

    @Test("a missing agent is a clear error naming SSH_AUTH_SOCK")
    func missingAgent() async throws {
        let unset = #expect(throws: SSHAgentError.self) { try SSHAgentClient(environment: [:]) }
        #expect(unset?.code == .noAgent)
        #expect(unset?.message.contains("SSH_AUTH_SOCK") == true)
        let dir = try TemporaryDirectory()
        let client = SSHAgentClient(socketPath: dir.file("nothing-here.sock"))
        let dead = await #expect(throws: SSHAgentError.self) { try await client.identities() }
        #expect(dead?.code == .noAgent)
        #expect(dead?.message.contains("stale") == true)
    }

    @Test("replies split into single bytes are reassembled; silence times out; oversize and garbage are typed errors")
    func misbehavingAgents() async throws {
        let dir = try TemporaryDirectory()
        let key = try SSHPrivateKey(generating: .ed25519, comment: "dribble")
        var answer = SSHWireWriterForTests()
        answer.uint32(1)
        answer.string(key.publicKey.wireBlob)
        answer.string(Array("dribble".utf8))
        let reply = [UInt8(0), 0, 0, UInt8(answer.bytes.count + 1), 12] + answer.bytes

        let dribbler = try ScriptedSocket(path: dir.file("dribble.sock"), reply: reply, chunkSize: 1)
        let identities = try await SSHAgentClient(socketPath: dribbler.path).identities()
        #expect(identities.map(\.publicKey) == [key.publicKey])

        let silent = try ScriptedSocket(path: dir.file("silent.sock"), reply: nil, chunkSize: 1)
        let timeout = await #expect(throws: SSHAgentError.self) { try await SSHAgentClient(socketPath: silent.path, timeout: .milliseconds(300)).identities() }
        #expect(timeout?.code == .timeout)

        let huge = try ScriptedSocket(path: dir.file("huge.sock"), reply: [0x7F, 0xFF, 0xFF, 0xFF, 12], chunkSize: 5)
        let oversize = await #expect(throws: SSHAgentError.self) { try await SSHAgentClient(socketPath: huge.path).identities() }
        #expect(oversize?.code == .protocolError)

        let truncated = try ScriptedSocket(path: dir.file("short.sock"), reply: Array(reply.prefix(reply.count - 3)), chunkSize: 7)
        let cut = await #expect(throws: SSHAgentError.self) { try await SSHAgentClient(socketPath: truncated.path).identities() }
        #expect(cut?.code == .protocolError)

        let wrongType = try ScriptedSocket(path: dir.file("wrong.sock"), reply: [0, 0, 0, 1, 14], chunkSize: 5)
        let unexpected = await #expect(throws: SSHAgentError.self) { try await SSHAgentClient(socketPath: wrongType.path).identities() }
        #expect(unexpected?.code == .protocolError)
    }
}

struct SSHWireWriterForTests {
    var bytes: [UInt8] = []
    mutating func uint32(_ v: UInt32) { bytes += [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)] }
    mutating func string(_ s: [UInt8]) { uint32(UInt32(s.count)); bytes += s }
}

/// A one-connection unix socket server that reads a request and answers with `reply`
/// in `chunkSize` pieces (or never answers when `reply` is nil), then closes.
final class ScriptedSocket: Sendable {
    let path: String
    private let listener: Int32

    init(path: String, reply: [UInt8]?, chunkSize: Int) throws {
        self.path = path
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: path.utf8)
            raw[path.utf8.count] = 0
        }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0, listen(fd, 4) == 0 else { throw ProcessError(message: "cannot listen on \(path)") }
        self.listener = fd
        let thread = Thread {
            let client = accept(fd, nil, nil)
            guard client >= 0 else { return }
            var buffer = [UInt8](repeating: 0, count: 4096)
            _ = recv(client, &buffer, buffer.count, 0)
            if let reply {
                var offset = 0
                while offset < reply.count {
                    let end = min(offset + chunkSize, reply.count)
                    _ = reply[offset..<end].withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                    offset = end
                    usleep(200)
                }
                close(client)
            } else {
                // Hold the connection open without answering, until the client gives up.
                _ = recv(client, &buffer, buffer.count, 0)
                close(client)
            }
        }
        thread.start()
    }

    deinit { close(self.listener) }
}
