/// The type of an SSH public key, as named in its wire blob (`ssh-ed25519`, `ssh-rsa`, …).
///
/// A struct rather than an enum, so that supporting a new key type is not an API break.
public struct SSHKeyType: Hashable, Sendable, CustomStringConvertible {
    // A one-byte code, so that comparing, hashing and copying a type costs nothing on the
    // verification path; the names are literals looked up by code.
    private let code: UInt8
    private init(_ code: UInt8) { self.code = code }

    public static let ed25519 = SSHKeyType(0)
    public static let ecdsaP256 = SSHKeyType(1)
    public static let ecdsaP384 = SSHKeyType(2)
    public static let ecdsaP521 = SSHKeyType(3)
    public static let rsa = SSHKeyType(4)
    public static let securityKeyEd25519 = SSHKeyType(5)
    public static let securityKeyECDSAP256 = SSHKeyType(6)

    /// The name on the wire and in `.pub` lines.
    public var name: String {
        switch self.code {
        case 0: "ssh-ed25519"
        case 1: "ecdsa-sha2-nistp256"
        case 2: "ecdsa-sha2-nistp384"
        case 3: "ecdsa-sha2-nistp521"
        case 4: "ssh-rsa"
        case 5: "sk-ssh-ed25519@openssh.com"
        default: "sk-ecdsa-sha2-nistp256@openssh.com"
        }
    }

    /// The `…-cert-v01@openssh.com` name of certificates over keys of this type.
    public var certificateName: String { Self.certificateNames[Int(self.code)] }

    /// OpenSSH's rule: `-cert-v01` before `@openssh.com`, or `-cert-v01@openssh.com` appended.
    private static let certificateNames: [String] = all.map { type in
        let suffix = "@openssh.com"
        return (type.name.hasSuffix(suffix) ? String(type.name.dropLast(suffix.count)) : type.name) + "-cert-v01" + suffix
    }

    /// Every plain (non-certificate) key type we parse.
    public static let all: [SSHKeyType] = [.ed25519, .ecdsaP256, .ecdsaP384, .ecdsaP521, .rsa, .securityKeyEd25519, .securityKeyECDSAP256]

    /// Looks a type up by its wire name; `nil` for names we do not support.
    public init?(name: some StringProtocol) {
        self.init(utf8: name.utf8)
    }

    /// Looks a type up by the bytes of its wire name (no string is made on the parsing path).
    init?(utf8 name: some Collection<UInt8>) {
        guard let match = Self.all.first(where: { utf8($0.name, equals: name) }) else { return nil }
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
        Self.all.first { utf8($0.certificateName, equals: name) }
    }
}

/// A signature algorithm as named in an SSH signature blob (`rsa-sha2-512`, `ssh-ed25519`, …).
public struct SSHSignatureAlgorithm: Hashable, Sendable, CustomStringConvertible {
    // A one-byte code, as in ``SSHKeyType``.
    private let code: UInt8
    private init(_ code: UInt8) { self.code = code }

    public static let ed25519 = SSHSignatureAlgorithm(0)
    public static let ecdsaP256 = SSHSignatureAlgorithm(1)
    public static let ecdsaP384 = SSHSignatureAlgorithm(2)
    public static let ecdsaP521 = SSHSignatureAlgorithm(3)
    public static let rsaSHA256 = SSHSignatureAlgorithm(4)
    public static let rsaSHA512 = SSHSignatureAlgorithm(5)
    /// PKCS#1 v1.5 with SHA-1: accepted only under ``SSHVerificationPolicy/allowsInsecureSHA1RSA``.
    public static let insecureRSASHA1 = SSHSignatureAlgorithm(6)
    public static let securityKeyEd25519 = SSHSignatureAlgorithm(7)
    public static let securityKeyECDSAP256 = SSHSignatureAlgorithm(8)

    /// The name on the wire.
    public var name: String {
        switch self.code {
        case 0: "ssh-ed25519"
        case 1: "ecdsa-sha2-nistp256"
        case 2: "ecdsa-sha2-nistp384"
        case 3: "ecdsa-sha2-nistp521"
        case 4: "rsa-sha2-256"
        case 5: "rsa-sha2-512"
        case 6: "ssh-rsa"
        case 7: "sk-ssh-ed25519@openssh.com"
        default: "sk-ecdsa-sha2-nistp256@openssh.com"
        }
    }

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
        guard let match = Self.all.first(where: { utf8($0.name, equals: name) }) else { return nil }
        self = match
    }

    /// The key type that makes signatures of this algorithm.
    public var keyType: SSHKeyType {
        switch self.code {
        case 0: .ed25519
        case 1: .ecdsaP256
        case 2: .ecdsaP384
        case 3: .ecdsaP521
        case 7: .securityKeyEd25519
        case 8: .securityKeyECDSAP256
        default: .rsa
        }
    }

    /// Whether signatures carry the FIDO flags byte and counter.
    public var isSecurityKey: Bool { self.keyType.isSecurityKey }

    public var description: String { self.name }
}

/// Whether `text`'s UTF-8 is `bytes`. Lengths first: parsing a blob compares its type name with
/// every known name, and most differ in length.
func utf8(_ text: String, equals bytes: some Collection<UInt8>) -> Bool {
    text.utf8.count == bytes.count && text.utf8.elementsEqual(bytes)
}
