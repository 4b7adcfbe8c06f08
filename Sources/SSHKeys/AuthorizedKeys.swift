import Foundation

/// One key line of an `authorized_keys` file (sshd(8) AUTHORIZED_KEYS FILE FORMAT).
public struct AuthorizedKey: Hashable, Sendable {
    /// The options before the key, in order (`restrict`, `from="…"`, `principals="…"`…).
    public let options: [SSHKeyOption]
    /// The key (a CA key for `cert-authority` lines).
    public let key: SSHPublicKey
    /// The trailing comment.
    public let comment: String

    /// Parses one line. Blank and `#` lines are not keys: use ``AuthorizedKeys/parse(_:)``.
    public init(line: some StringProtocol) throws {
        guard line.utf8.count <= maximumKeyListLineLength else {
            throw SSHKeyError(.limitExceeded, "authorized_keys line longer than \(maximumKeyListLineLength) bytes")
        }
        let text = Substring(line).drop { $0 == " " || $0 == "\t" }
        let first = text.prefix { $0 != " " && $0 != "\t" }
        var rest = text
        var options: [SSHKeyOption] = []
        if !isKeyTypeName(first) {
            (options, rest) = try parseKeyOptions(text)
        }
        let parsed = try SSHPublicKey.parseOpenSSHLine(rest)
        self.options = options
        self.key = parsed.key
        self.comment = parsed.comment
    }

    /// The value of the first option called `name`, or `nil`.
    public func option(_ name: String) -> SSHKeyOption? { self.options.first { $0.name == name.lowercased() } }

    /// Whether the line trusts certificates signed by ``key`` instead of the key itself.
    public var isCertificateAuthority: Bool { self.option("cert-authority") != nil }
    /// Whether `restrict` is set.
    public var isRestricted: Bool { self.option("restrict") != nil }
    /// The `principals="…"` list.
    public var principals: [String]? { self.option("principals")?.value.map { $0.split(separator: ",").map(String.init) } }
    /// The `from="…"` pattern list.
    public var fromPatterns: String? { self.option("from")?.value }
    /// The forced `command="…"`.
    public var command: String? { self.option("command")?.value }

    /// The `expiry-time="…"` as seconds since the epoch.
    public func expiryTime() throws -> UInt64? {
        guard let value = self.option("expiry-time")?.value else { return nil }
        return try parseSSHTimestamp(value)
    }
}

/// Reading whole `authorized_keys` files.
public enum AuthorizedKeys {
    /// Parses every key line, skipping blanks and comments; a malformed line throws with its number.
    public static func parse(_ text: some StringProtocol) throws -> [AuthorizedKey] {
        try parseKeyListLines(text) { try AuthorizedKey(line: $0) }
    }
}
