import SSHKeys

/// A ``Signer`` backed by one key in ssh-agent.
public struct AgentSigner: Signer {
    public let agent: SSHAgentClient
    /// What signatures embed (a certificate, say).
    public let identity: SSHPublicIdentity
    /// What the agent is asked to sign with: ``identity`` unless the agent holds only the plain
    /// key of a certificate.
    public let signingIdentity: SSHPublicIdentity

    public init(agent: SSHAgentClient, identity: SSHPublicIdentity, signingIdentity: SSHPublicIdentity? = nil) {
        self.agent = agent
        self.identity = identity
        self.signingIdentity = signingIdentity ?? identity
    }

    public func sign(_ data: [UInt8], algorithm: SSHSignatureAlgorithm?) async throws -> SSHSignature {
        try await self.agent.sign(data, with: self.signingIdentity, algorithm: algorithm)
    }
}

extension SSHAgentClient {
    /// A signer for the agent's key matching `key` (its certificate when the agent holds one
    /// and `preferCertificate` is set), or for the first key when `key` is `nil`.
    public func signer(for key: SSHPublicKey? = nil, preferCertificate: Bool = false) async throws -> AgentSigner {
        let identities = try await self.identities()
        guard !identities.isEmpty else {
            throw SSHAgentError(.noMatchingKey, "the ssh-agent holds no keys; add one with 'ssh-add'")
        }
        guard let key else { return AgentSigner(agent: self, identity: identities[0].identity) }
        let matching = identities.filter { $0.publicKey == key }
        let chosen = preferCertificate ? (matching.first { if case .certificate = $0.identity { true } else { false } } ?? matching.first) : (matching.first { if case .key = $0.identity { true } else { false } } ?? matching.first)
        guard let chosen else {
            throw SSHAgentError(.noMatchingKey, "key \(key.sha256Fingerprint) is not in the ssh-agent; add it with 'ssh-add'")
        }
        return AgentSigner(agent: self, identity: chosen.identity)
    }
}
