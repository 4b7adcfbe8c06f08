import ArgumentParser
import Foundation
import SSHKeys

struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check SSHSIG signatures, like 'ssh-keygen -Y verify'.",
        discussion: """
        Reads the signed message from stdin. Exits 0 when the signature is good and its key is
        allowed to sign as PRINCIPAL in NAMESPACE by the allowed_signers file; otherwise prints
        one line saying why and exits 255 (as ssh-keygen does).
        --check-novalidate checks only that the embedded key made the signature.
        --find-principals prints the principals whose allowed_signers lines accept the key.
        """
    )

    @Option(name: [.customShort("n"), .customLong("namespace")], help: "The namespace the signature must be made for.")
    var namespace: String?

    @Option(name: [.customShort("s"), .customLong("signature")], help: "The .sig file.")
    var signatureFile: String

    @Option(name: [.customShort("f"), .customLong("allowed-signers")], help: "The allowed_signers file.")
    var allowedSigners: String?

    @Option(name: [.customShort("I"), .customLong("principal")], help: "Who must have signed.")
    var principal: String?

    @Option(name: .customShort("O"), help: "verify-time=YYYYMMDD[HHMM[SS]][Z] (default now).")
    var options: [String] = []

    @Flag(help: "Check the signature only, without an allowed_signers file.")
    var checkNovalidate = false

    @Flag(help: "Print the principals allowed to have made the signature.")
    var findPrincipals = false

    func validate() throws {
        if self.findPrincipals {
            guard self.allowedSigners != nil else { throw ValidationError("--find-principals needs -f ALLOWED_SIGNERS") }
        } else if self.checkNovalidate {
            guard self.namespace != nil else { throw ValidationError("--check-novalidate needs -n NAMESPACE") }
        } else {
            guard self.namespace != nil, self.allowedSigners != nil, self.principal != nil else {
                throw ValidationError("verify needs -n NAMESPACE, -f ALLOWED_SIGNERS and -I PRINCIPAL (or --check-novalidate / --find-principals)")
            }
        }
    }

    func run() async throws {
        try await reportingErrors(exitCode: 255) {
            var time = UInt64(Date().timeIntervalSince1970)
            for option in self.options {
                guard option.lowercased().hasPrefix("verify-time=") else {
                    throw CLIFailure(message: "unknown option -O \(option) (supported: verify-time=…)", code: 255)
                }
                time = try parseSSHTimestamp(String(option.dropFirst("verify-time=".count)))
            }
            let signature = try SSHSig(armored: try readSmallFile(self.signatureFile))
            let key = signature.signer.publicKey
            let signers = try self.allowedSigners.map { try AllowedSigners(parsing: try readSmallFile($0)) }

            if self.findPrincipals, let signers {
                let principals = signers.principals(for: signature, at: time)
                guard !principals.isEmpty else {
                    throw CLIFailure(message: "no principal matched key \(key.sha256Fingerprint)", code: 255)
                }
                principals.forEach { print($0) }
                return
            }
            guard let namespace = self.namespace else { return }
            let data = SSHSigSignedData(messageHash: try hashMessage(path: "-", algorithm: signature.hashAlgorithm), namespace: namespace, hashAlgorithm: signature.hashAlgorithm)
            if self.checkNovalidate {
                try signature.verify(data)
                print("Good \"\(namespace)\" signature with \(displayName(signature.signer)) key \(key.sha256Fingerprint)")
                return
            }
            guard let signers, let principal = self.principal else { return }
            try signers.verify(signature, signedData: data, principal: principal, at: time)
            print("Good \"\(namespace)\" signature for \(principal) with \(displayName(signature.signer)) key \(key.sha256Fingerprint)")
        }
    }
}
