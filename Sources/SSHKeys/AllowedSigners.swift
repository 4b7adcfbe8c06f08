import Foundation

/// One line of an `allowed_signers` file (ssh-keygen(1) ALLOWED SIGNERS):
/// `principals [options] keytype base64 [comment]`.
public struct AllowedSigner: Hashable, Sendable {
    /// The comma-separated principal pattern list (`*`, `?`, `!`).
    public let principals: String
    /// `cert-authority`, `namespaces="…"`, `valid-after="…"`, `valid-before="…"`.
    public let options: [SSHKeyOption]
    /// The signer's key, or the CA key of a `cert-authority` line.
    public let key: SSHPublicKey

    /// Parses one line.
    public init(line: some StringProtocol) throws {
        guard line.utf8.count <= maximumKeyListLineLength else {
            throw SSHKeyError(.limitExceeded, "allowed_signers line longer than \(maximumKeyListLineLength) bytes")
        }
        var text = Substring(line).drop { $0 == " " || $0 == "\t" }
        var principals = ""
        if text.first == "\"" {
            guard let close = text.dropFirst().firstIndex(of: "\"") else {
                throw SSHKeyError(.invalidLine, "unterminated quoted principals")
            }
            principals = String(text[text.index(after: text.startIndex)..<close])
            text = text[text.index(after: close)...]
        } else {
            principals = String(text.prefix { $0 != " " && $0 != "\t" })
            text = text.dropFirst(principals.count)
        }
        text = text.drop { $0 == " " || $0 == "\t" }
        guard !principals.isEmpty, !text.isEmpty else {
            throw SSHKeyError(.invalidLine, "an allowed_signers line is 'PRINCIPALS [OPTIONS] TYPE BASE64 [COMMENT]'")
        }
        var options: [SSHKeyOption] = []
        if !isKeyTypeName(text.prefix { $0 != " " && $0 != "\t" }) {
            (options, text) = try parseKeyOptions(text)
        }
        for option in options where !["cert-authority", "namespaces", "valid-after", "valid-before"].contains(option.name) {
            throw SSHKeyError(.invalidLine, "unknown allowed_signers option \(SSHKeyError.quoted(option.name))")
        }
        self.principals = principals
        self.options = options
        self.key = try SSHPublicKey.parseOpenSSHLine(text).key
        _ = try self.validAfter()
        _ = try self.validBefore()
    }

    /// Whether the line trusts certificates signed by ``key``.
    public var isCertificateAuthority: Bool { self.options.contains { $0.name == "cert-authority" } }
    /// The `namespaces="…"` pattern list, if restricted.
    public var namespaces: String? { self.options.first { $0.name == "namespaces" }?.value }
    /// `valid-after` as seconds since the epoch.
    public func validAfter() throws -> UInt64? { try self.options.first { $0.name == "valid-after" }?.value.map { try parseSSHTimestamp($0) } }
    /// `valid-before` as seconds since the epoch.
    public func validBefore() throws -> UInt64? { try self.options.first { $0.name == "valid-before" }?.value.map { try parseSSHTimestamp($0) } }

    /// Whether this line lets `identity` sign as `principal` in `namespace` at `time`.
    func allows(_ identity: SSHPublicIdentity, principal: String, namespace: String, at time: UInt64) -> Bool {
        guard SSHPattern.match(principal, list: self.principals) == .matched else { return false }
        if let namespaces, SSHPattern.match(namespace, list: namespaces) != .matched { return false }
        if let after = try? self.validAfter(), time < after { return false }
        if let before = try? self.validBefore(), time > before { return false }
        return self.keyMatches(identity, principal: principal, at: time)
    }

    func keyMatches(_ identity: SSHPublicIdentity, principal: String?, at time: UInt64) -> Bool {
        switch (identity, self.isCertificateAuthority) {
        case (.key(let key), false):
            return key == self.key
        case (.certificate(let cert), true):
            guard cert.signatureKey == self.key, cert.kind == .user, cert.isValid(at: time),
                  (try? cert.verifyCASignature()) != nil else { return false }
            guard let principal else { return true }
            return cert.principals.contains(principal)
        default:
            return false
        }
    }
}

/// An `allowed_signers` file: who may sign what, as `ssh-keygen -Y verify` decides.
public struct AllowedSigners: Sendable {
    /// The parsed lines.
    public let entries: [AllowedSigner]

    /// Parses a whole file, skipping blanks and `#` comments; a malformed line throws with its number.
    public init(parsing text: some StringProtocol) throws {
        self.entries = try parseKeyListLines(text) { try AllowedSigner(line: $0) }
    }

    public init(entries: [AllowedSigner]) { self.entries = entries }

    /// `ssh-keygen -Y verify`: the signature over `message` must verify in `namespace`, and a
    /// line must allow its signer as `principal` at `time` (seconds since the epoch).
    public func verify(_ signature: SSHSig, message: some DataProtocol, principal: String, namespace: String, at time: UInt64) throws {
        try self.verify(signature, signedData: SSHSigSignedData(message: message, namespace: namespace, hashAlgorithm: signature.hashAlgorithm), principal: principal, at: time)
    }

    /// Like ``verify(_:message:principal:namespace:at:)`` with the message already hashed.
    public func verify(_ signature: SSHSig, signedData: SSHSigSignedData, principal: String, at time: UInt64) throws {
        let namespace = signedData.namespace
        try signature.verify(signedData)
        guard self.entries.contains(where: { $0.allows(signature.signer, principal: principal, namespace: namespace, at: time) }) else {
            throw SSHKeyError(.invalidSignature, "no allowed_signers line lets key \(signature.signer.publicKey.sha256Fingerprint) sign as \(SSHKeyError.quoted(principal)) in namespace \(SSHKeyError.quoted(namespace))")
        }
    }

    /// `ssh-keygen -Y find-principals`: the principal lists of lines that accept the
    /// signature's key (for certificates, the certificate principals those lines accept).
    public func principals(for signature: SSHSig, at time: UInt64) -> [String] {
        var out: [String] = []
        for entry in self.entries {
            if let namespaces = entry.namespaces, SSHPattern.match(signature.namespace, list: namespaces) != .matched { continue }
            if let after = try? entry.validAfter(), time < after { continue }
            if let before = try? entry.validBefore(), time > before { continue }
            guard entry.keyMatches(signature.signer, principal: nil, at: time) else { continue }
            if case .certificate(let cert) = signature.signer {
                out += cert.principals.filter { SSHPattern.match($0, list: entry.principals) == .matched }
            } else {
                out.append(entry.principals)
            }
        }
        return out
    }
}
