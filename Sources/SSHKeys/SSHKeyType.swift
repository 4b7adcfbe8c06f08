/// The type of an SSH public key, as named in its wire blob (`ssh-ed25519`, `ssh-rsa`, …).
///
/// A struct rather than an enum, so that supporting a new key type is not an API break.
public struct SSHKeyType: Hashable, Sendable, CustomStringConvertible {
    /// The name on the wire and in `.pub` lines.
    public let name: String

    /// The `…-cert-v01@openssh.com` name of certificates over keys of this type.
    public let certificateName: String

    private init(_ name: String) {
        self.name = name
        if let at = name.firstIndex(of: "@") {
            self.certificateName = name[..<at] + "-cert-v01" + name[at...]
        } else {
            self.certificateName = name + "-cert-v01@openssh.com"
        }
    }

    public static let ed25519 = SSHKeyType("ssh-ed25519")
    public static let ecdsaP256 = SSHKeyType("ecdsa-sha2-nistp256")
    public static let ecdsaP384 = SSHKeyType("ecdsa-sha2-nistp384")
    public static let ecdsaP521 = SSHKeyType("ecdsa-sha2-nistp521")
    public static let rsa = SSHKeyType("ssh-rsa")
    public static let securityKeyEd25519 = SSHKeyType("sk-ssh-ed25519@openssh.com")
    public static let securityKeyECDSAP256 = SSHKeyType("sk-ecdsa-sha2-nistp256@openssh.com")

    /// Every plain (non-certificate) key type we parse.
    public static let all: [SSHKeyType] = [.ed25519, .ecdsaP256, .ecdsaP384, .ecdsaP521, .rsa, .securityKeyEd25519, .securityKeyECDSAP256]

    /// Looks a type up by its wire name; `nil` for names we do not support.
    public init?(name: some StringProtocol) {
        self.init(utf8: name.utf8)
    }

    /// Looks a type up by the bytes of its wire name (no string is made on the parsing path).
    init?(utf8 name: some Collection<UInt8>) {
        guard let match = Self.all.first(where: { $0.name.utf8.elementsEqual(name) }) else { return nil }
        self = match
    }

    /// Whether this is a FIDO security-key type (`sk-…`).
    public var isSecurityKey: Bool { self == .securityKeyEd25519 || self == .securityKeyECDSAP256 }

    public var description: String { self.name }

    /// The key type whose certificate type is `name`, if it is one.
    static func forCertificateName(_ name: some StringProtocol) -> SSHKeyType? {
        Self.forCertificateName(utf8: name.utf8)
    }

    static func forCertificateName(utf8 name: some Collection<UInt8>) -> SSHKeyType? {
        Self.all.first { $0.certificateName.utf8.elementsEqual(name) }
    }
}

/// A signature algorithm as named in an SSH signature blob (`rsa-sha2-512`, `ssh-ed25519`, …).
public struct SSHSignatureAlgorithm: Hashable, Sendable, CustomStringConvertible {
    /// The name on the wire.
    public let name: String

    private init(_ name: String) { self.name = name }

    public static let ed25519 = SSHSignatureAlgorithm("ssh-ed25519")
    public static let ecdsaP256 = SSHSignatureAlgorithm("ecdsa-sha2-nistp256")
    public static let ecdsaP384 = SSHSignatureAlgorithm("ecdsa-sha2-nistp384")
    public static let ecdsaP521 = SSHSignatureAlgorithm("ecdsa-sha2-nistp521")
    public static let rsaSHA256 = SSHSignatureAlgorithm("rsa-sha2-256")
    public static let rsaSHA512 = SSHSignatureAlgorithm("rsa-sha2-512")
    /// PKCS#1 v1.5 with SHA-1: accepted only under ``SSHVerificationPolicy/allowsInsecureSHA1RSA``.
    public static let insecureRSASHA1 = SSHSignatureAlgorithm("ssh-rsa")
    public static let securityKeyEd25519 = SSHSignatureAlgorithm("sk-ssh-ed25519@openssh.com")
    public static let securityKeyECDSAP256 = SSHSignatureAlgorithm("sk-ecdsa-sha2-nistp256@openssh.com")

    /// Every signature algorithm we parse.
    public static let all: [SSHSignatureAlgorithm] = [
        .ed25519, .ecdsaP256, .ecdsaP384, .ecdsaP521, .rsaSHA256, .rsaSHA512, .insecureRSASHA1,
        .securityKeyEd25519, .securityKeyECDSAP256,
    ]

    /// Looks an algorithm up by its wire name; `nil` for names we do not support.
    public init?(name: some StringProtocol) {
        self.init(utf8: name.utf8)
    }

    /// Looks an algorithm up by the bytes of its wire name.
    init?(utf8 name: some Collection<UInt8>) {
        guard let match = Self.all.first(where: { $0.name.utf8.elementsEqual(name) }) else { return nil }
        self = match
    }

    /// The key type that makes signatures of this algorithm.
    public var keyType: SSHKeyType {
        switch self {
        case .ed25519: .ed25519
        case .ecdsaP256: .ecdsaP256
        case .ecdsaP384: .ecdsaP384
        case .ecdsaP521: .ecdsaP521
        case .securityKeyEd25519: .securityKeyEd25519
        case .securityKeyECDSAP256: .securityKeyECDSAP256
        default: .rsa
        }
    }

    /// Whether signatures carry the FIDO flags byte and counter.
    public var isSecurityKey: Bool { self.keyType.isSecurityKey }

    public var description: String { self.name }
}
