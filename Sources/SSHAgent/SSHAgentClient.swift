import Foundation
import SSHKeys
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// The ssh-agent protocol (RFC 9987, OpenSSH PROTOCOL.agent) is written by hand here: no
// package on this platform has a client for it. The socket I/O is plain blocking POSIX with
// poll(2) deadlines, run on a dedicated dispatch queue so no caller's executor is blocked.

/// A client for an SSH agent listening on a unix socket (`SSH_AUTH_SOCK`).
///
/// Each call opens its own connection, so one client may be shared freely between tasks.
public struct SSHAgentClient: Sendable {
    /// Where the agent listens.
    public let socketPath: String
    /// Deadline for one whole request/response exchange.
    public var timeout: Duration

    /// Largest agent reply we accept (OpenSSH's own limit is 256 KiB).
    public static let maximumMessageLength = 256 * 1024
    /// Most identities we accept in one listing.
    public static let maximumIdentities = 1024

    /// A client for the agent at `socketPath`.
    public init(socketPath: String, timeout: Duration = .seconds(10)) {
        self.socketPath = socketPath
        self.timeout = timeout
    }

    /// A client for the agent named by `SSH_AUTH_SOCK` in `environment`.
    public init(environment: [String: String] = ProcessInfo.processInfo.environment, timeout: Duration = .seconds(10)) throws {
        guard let path = environment["SSH_AUTH_SOCK"], !path.isEmpty else {
            throw SSHAgentError(.noAgent, "SSH_AUTH_SOCK is not set: no ssh-agent is running for this session (start one with 'eval $(ssh-agent)' and add keys with 'ssh-add')")
        }
        self.init(socketPath: path, timeout: timeout)
    }

    /// One key the agent holds.
    public struct Identity: Hashable, Sendable {
        /// The key or certificate.
        public let identity: SSHPublicIdentity
        /// The comment the key was added with.
        public let comment: String
        /// The plain public key.
        public var publicKey: SSHPublicKey { self.identity.publicKey }
    }

    /// The keys in the agent, in the agent's order. Keys of types we do not support are
    /// skipped, not an error (an agent may hold anything).
    public func identities() async throws -> [Identity] {
        let reply = try await self.exchange(type: MessageType.requestIdentities, payload: [])
        guard reply.type == MessageType.identitiesAnswer else { throw self.unexpected(reply.type, "listing keys") }
        return try Self.identities(inAnswer: reply.payload)
    }

    /// The keys listed by an `SSH_AGENT_IDENTITIES_ANSWER` payload.
    static func identities(inAnswer payload: [UInt8]) throws -> [Identity] {
        var reader = SSHWireReader(payload, what: "agent reply")
        let count = try reader.readUInt32()
        guard count <= Self.maximumIdentities else {
            throw SSHAgentError(.protocolError, "the agent lists \(count) keys; at most \(Self.maximumIdentities) are accepted")
        }
        var out: [Identity] = []
        for _ in 0..<count {
            let blob = try reader.readString()
            let comment = String(decoding: try reader.readString(), as: UTF8.self)
            if let identity = try? SSHPublicIdentity(wireBlob: blob) {
                out.append(Identity(identity: identity, comment: comment))
            }
        }
        try reader.expectEnd()
        return out
    }

    /// Flags of a sign request.
    public struct SignFlags: OptionSet, Hashable, Sendable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        /// RSA: sign with `rsa-sha2-256`.
        public static let rsaSHA256 = SignFlags(rawValue: 0x02)
        /// RSA: sign with `rsa-sha2-512`.
        public static let rsaSHA512 = SignFlags(rawValue: 0x04)
    }

    /// Asks the agent to sign `data` with `identity`. For RSA keys, `algorithm` picks the flag
    /// (`nil` means `rsa-sha2-512`; `.insecureRSASHA1` sends no flag). The signature is checked
    /// against the key before it is returned, so a confused agent cannot hand back garbage.
    public func sign(_ data: [UInt8], with identity: SSHPublicIdentity, algorithm: SSHSignatureAlgorithm? = nil) async throws -> SSHSignature {
        var flags = SignFlags()
        let key = identity.publicKey
        if key.type == .rsa {
            switch algorithm ?? .rsaSHA512 {
            case .rsaSHA256: flags = .rsaSHA256
            case .rsaSHA512: flags = .rsaSHA512
            case .insecureRSASHA1: flags = []
            default: throw SSHAgentError(.protocolError, "an RSA key cannot make \(algorithm?.name ?? "") signatures")
            }
        }
        var payload = SSHWireWriter()
        payload.writeString(identity.wireBlob)
        payload.writeString(data)
        payload.writeUInt32(flags.rawValue)
        let reply = try await self.exchange(type: MessageType.signRequest, payload: payload.bytes)
        if reply.type == MessageType.failure {
            throw SSHAgentError(.refused, "the agent refused to sign with \(key.sha256Fingerprint) (the key may have been removed, be locked, or need confirmation)")
        }
        guard reply.type == MessageType.signResponse else { throw self.unexpected(reply.type, "signing") }
        let signature = try Self.signature(inResponse: reply.payload)
        let policy = SSHVerificationPolicy(allowsInsecureSHA1RSA: algorithm == .insecureRSASHA1, requiresUserPresence: false)
        guard key.isValidSignature(signature, for: data, policy: policy) else {
            throw SSHAgentError(.protocolError, "the agent returned a \(signature.algorithm.name) signature that does not verify with \(key.sha256Fingerprint)")
        }
        if let algorithm, key.type == .rsa, signature.algorithm != algorithm {
            throw SSHAgentError(.protocolError, "asked the agent for \(algorithm.name) but it signed with \(signature.algorithm.name)")
        }
        return signature
    }

    /// The signature of an `SSH_AGENT_SIGN_RESPONSE` payload (not yet checked against a key).
    static func signature(inResponse payload: [UInt8]) throws -> SSHSignature {
        var reader = SSHWireReader(payload, what: "agent reply")
        let blob = try reader.readString()
        try reader.expectEnd()
        do {
            return try SSHSignature(wireBlob: blob)
        } catch {
            throw SSHAgentError(.protocolError, "the agent returned a malformed signature: \(error)")
        }
    }

    /// Constraints on a key added to the agent.
    public struct Constraints: Hashable, Sendable {
        /// Seconds after which the agent forgets the key.
        public var lifetime: UInt32?
        /// Whether the agent asks the user before each use.
        public var confirm: Bool
        public init(lifetime: UInt32? = nil, confirm: Bool = false) {
            self.lifetime = lifetime
            self.confirm = confirm
        }
    }

    /// Adds a private key to the agent (like `ssh-add`).
    public func add(_ key: SSHPrivateKey, constraints: Constraints = .init()) async throws {
        guard key.canSign else {
            throw SSHAgentError(.refused, "FIDO key handles are added with ssh-add, which talks to the authenticator")
        }
        var payload = SSHWireWriter()
        payload.writeRaw(key.agentEncoding)
        let constrained = constraints.lifetime != nil || constraints.confirm
        if let lifetime = constraints.lifetime {
            payload.writeByte(1)
            payload.writeUInt32(lifetime)
        }
        if constraints.confirm { payload.writeByte(2) }
        try await self.expectSuccess(type: constrained ? MessageType.addIDConstrained : MessageType.addIdentity, payload: payload.bytes, what: "add the key")
    }

    /// Removes one key from the agent.
    public func remove(_ identity: SSHPublicIdentity) async throws {
        var payload = SSHWireWriter()
        payload.writeString(identity.wireBlob)
        try await self.expectSuccess(type: MessageType.removeIdentity, payload: payload.bytes, what: "remove the key (is it in the agent?)")
    }

    /// Removes every key from the agent.
    public func removeAll() async throws {
        try await self.expectSuccess(type: MessageType.removeAllIdentities, payload: [], what: "remove all keys")
    }

    private func expectSuccess(type: UInt8, payload: [UInt8], what: String) async throws {
        let reply = try await self.exchange(type: type, payload: payload)
        if reply.type == MessageType.failure { throw SSHAgentError(.refused, "the agent refused to \(what)") }
        guard reply.type == MessageType.success else { throw self.unexpected(reply.type, what) }
    }

    private func unexpected(_ type: UInt8, _ what: String) -> SSHAgentError {
        if type == MessageType.failure { return SSHAgentError(.refused, "the agent answered FAILURE when \(what)") }
        return SSHAgentError(.protocolError, "unexpected agent reply type \(type) when \(what)")
    }

    // MARK: Transport

    enum MessageType {
        static let failure: UInt8 = 5
        static let success: UInt8 = 6
        static let requestIdentities: UInt8 = 11
        static let identitiesAnswer: UInt8 = 12
        static let signRequest: UInt8 = 13
        static let signResponse: UInt8 = 14
        static let addIdentity: UInt8 = 17
        static let removeIdentity: UInt8 = 18
        static let removeAllIdentities: UInt8 = 19
        static let addIDConstrained: UInt8 = 25
    }

    private static let queue = DispatchQueue(label: "crtauth.ssh-agent", attributes: .concurrent)

    /// Sends one message and reads one reply on a fresh connection.
    func exchange(type: UInt8, payload: [UInt8]) async throws -> (type: UInt8, payload: [UInt8]) {
        let path = self.socketPath
        let deadline = ContinuousClock.now + self.timeout
        return try await withCheckedThrowingContinuation { continuation in
            Self.queue.async {
                continuation.resume(with: Result { try AgentConnection.exchange(path: path, type: type, payload: payload, deadline: deadline) })
            }
        }
    }
}

/// Blocking socket I/O with a deadline.
enum AgentConnection {
    static func exchange(path: String, type: UInt8, payload: [UInt8], deadline: ContinuousClock.Instant) throws -> (type: UInt8, payload: [UInt8]) {
        let fd = try connect(path)
        defer { close(fd) }
        var message = SSHWireWriter()
        message.writeUInt32(UInt32(payload.count + 1))
        message.writeByte(type)
        message.writeRaw(payload)
        try write(fd, message.bytes, deadline: deadline)
        let header = try read(fd, count: 4, deadline: deadline)
        let length = header.reduce(0) { ($0 << 8) | Int($1) }
        guard length >= 1, length <= SSHAgentClient.maximumMessageLength else {
            throw SSHAgentError(.protocolError, "the agent sent a reply of \(length) bytes (limit \(SSHAgentClient.maximumMessageLength))")
        }
        let body = try read(fd, count: length, deadline: deadline)
        return (body[0], Array(body.dropFirst()))
    }

    static func connect(_ path: String) throws -> Int32 {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard path.utf8.count < capacity else {
            throw SSHAgentError(.noAgent, "the agent socket path is longer than \(capacity - 1) bytes")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: path.utf8)
            raw[path.utf8.count] = 0
        }
        #if canImport(Darwin)
        let fd = socket(AF_UNIX, SOCK_STREAM, 0)
        #else
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        #endif
        guard fd >= 0 else { throw SSHAgentError(.noAgent, "cannot create a unix socket: \(errnoText())") }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else {
            let reason = errnoText()
            close(fd)
            throw SSHAgentError(.noAgent, "cannot connect to the ssh-agent at \(path) (\(reason)); is SSH_AUTH_SOCK stale? Start an agent with 'eval $(ssh-agent)'")
        }
        return fd
    }

    static func wait(_ fd: Int32, for events: Int16, deadline: ContinuousClock.Instant) throws {
        while true {
            let remaining = ContinuousClock.now.duration(to: deadline)
            guard remaining > .zero else { throw SSHAgentError(.timeout, "the ssh-agent did not answer in time") }
            let ms = Int32(clamping: remaining.components.seconds * 1000 + remaining.components.attoseconds / 1_000_000_000_000_000 + 1)
            var pfd = pollfd(fd: fd, events: events, revents: 0)
            let rc = poll(&pfd, 1, ms)
            if rc > 0 { return }
            if rc < 0, errno != EINTR { throw SSHAgentError(.protocolError, "poll failed: \(errnoText())") }
        }
    }

    static func write(_ fd: Int32, _ bytes: [UInt8], deadline: ContinuousClock.Instant) throws {
        var offset = 0
        while offset < bytes.count {
            try wait(fd, for: Int16(POLLOUT), deadline: deadline)
            let n = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                throw SSHAgentError(.protocolError, "writing to the agent failed: \(errnoText())")
            }
            offset += n
        }
    }

    /// Reads exactly `count` bytes, however the agent splits them.
    static func read(_ fd: Int32, count: Int, deadline: ContinuousClock.Instant) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        var offset = 0
        while offset < count {
            try wait(fd, for: Int16(POLLIN), deadline: deadline)
            let n = out[offset...].withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { throw SSHAgentError(.protocolError, "the agent closed the connection mid-reply") }
            if n < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                throw SSHAgentError(.protocolError, "reading from the agent failed: \(errnoText())")
            }
            offset += n
        }
        return out
    }

    static func errnoText() -> String { String(cString: strerror(errno)) }
}
