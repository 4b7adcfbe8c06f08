import ArgumentParser
import Foundation
import SSHAgent
import SSHKeys

struct SignCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sign",
        abstract: "Make SSHSIG signatures, like 'ssh-keygen -Y sign'.",
        discussion: """
        Writes FILE.sig for each FILE ('-' signs stdin and writes the signature to stdout).
        -f names a private key file (its passphrase comes from SSH_ASKPASS as ssh uses it, \
        else the terminal, else CRTAUTH_PASSPHRASE) or a public key or certificate whose \
        private half is in ssh-agent. Without -f the first key in ssh-agent signs.
        """
    )

    @Option(name: [.customShort("n"), .customLong("namespace")], help: "The signature namespace (file, git, email, name@your.domain).")
    var namespace: String

    @Option(name: [.customShort("f"), .customLong("key")], help: "Private key, or public key/certificate of a key in ssh-agent.")
    var keyFile: String?

    @Option(name: .customShort("O"), help: "hashalg=sha256|sha512 (default sha512).")
    var options: [String] = []

    @Argument(help: "Files to sign; '-' for stdin.")
    var files: [String]

    func validate() throws {
        guard !self.namespace.isEmpty else { throw ValidationError("the namespace (-n) must not be empty") }
        guard !self.files.isEmpty else { throw ValidationError("name at least one file to sign ('-' for stdin)") }
    }

    func run() async throws {
        try await reportingErrors {
            var hash = SSHSigHashAlgorithm.sha512
            for option in self.options {
                switch option.lowercased() {
                case "hashalg=sha256": hash = .sha256
                case "hashalg=sha512": hash = .sha512
                default: throw CLIFailure(message: "unknown option -O \(option) (supported: hashalg=sha256, hashalg=sha512)")
                }
            }
            let signer = try await self.makeSigner()
            for file in self.files {
                let data = SSHSigSignedData(messageHash: try hashMessage(path: file, algorithm: hash), namespace: self.namespace, hashAlgorithm: hash)
                let signature = try await SSHSig.sign(data, with: signer)
                if file == "-" {
                    FileHandle.standardOutput.write(Data(signature.armored.utf8))
                } else {
                    let target = file + ".sig"
                    do {
                        try signature.armored.write(toFile: target, atomically: true, encoding: .utf8)
                    } catch {
                        throw CLIFailure(message: "cannot write \(target): \(error.localizedDescription)")
                    }
                    FileHandle.standardError.write(Data("Signing file \(file)\nWrite signature to \(target)\n".utf8))
                }
            }
        }
    }

    private func makeSigner() async throws -> any Signer {
        guard let keyFile = self.keyFile else {
            return try await environmentAgent().signer()
        }
        let text = try readSmallFile(keyFile)
        if text.contains("PRIVATE KEY-----") {
            // Use ssh-agent for an encrypted key it already holds, rather than prompting.
            if SSHPrivateKey.isEncryptedOpenSSHFile(text), let agent = try? environmentAgent(),
               let key = try? SSHPrivateKey.publicKey(ofOpenSSHFile: text),
               let signer = try? await agent.signer(for: key) {
                return signer
            }
            return try loadPrivateKey(keyFile, text: text)
        }
        let identities = try publicIdentities(in: text)
        guard identities.count == 1, let identity = identities.first?.identity else {
            throw CLIFailure(message: "\(keyFile) holds \(identities.count) keys; -f needs exactly one")
        }
        let agent = try environmentAgent()
        let held = try await agent.identities()
        if held.contains(where: { $0.identity == identity }) {
            return AgentSigner(agent: agent, identity: identity)
        }
        guard held.contains(where: { $0.identity == .key(identity.publicKey) }) else {
            throw CLIFailure(message: "the private half of \(keyFile) (\(identity.publicKey.sha256Fingerprint)) is not in ssh-agent; add it with 'ssh-add' or pass the private key file")
        }
        return AgentSigner(agent: agent, identity: identity, signingIdentity: .key(identity.publicKey))
    }
}
