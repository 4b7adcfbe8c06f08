import Crypto
import _CryptoExtras
import Foundation

/// A private key that can sign: Ed25519, ECDSA P-256/384/521 or RSA, or the handle of a FIDO
/// security key (which signs only through its authenticator, e.g. via ssh-agent).
public struct SSHPrivateKey: Sendable {
    enum Backing: Sendable {
        case ed25519(Curve25519.Signing.PrivateKey)
        case p256(P256.Signing.PrivateKey)
        case p384(P384.Signing.PrivateKey)
        case p521(P521.Signing.PrivateKey)
        case rsa(RSAPrivateKey)
        case securityKey(SecurityKeyHandle)
    }

    struct RSAPrivateKey: Sendable {
        var key: _RSA.Signing.PrivateKey
        var n: [UInt8], e: [UInt8], d: [UInt8], iqmp: [UInt8], p: [UInt8], q: [UInt8]
    }

    struct SecurityKeyHandle: Sendable {
        var flags: UInt8
        var keyHandle: [UInt8]
        var reserved: [UInt8]
    }

    let backing: Backing
    /// The matching public key.
    public let publicKey: SSHPublicKey
    /// The comment stored with the key (often `user@host`).
    public var comment: String

    init(backing: Backing, publicKey: SSHPublicKey, comment: String) {
        self.backing = backing
        self.publicKey = publicKey
        self.comment = comment
    }

    /// Wraps a swift-crypto Ed25519 key.
    public init(_ key: Curve25519.Signing.PrivateKey, comment: String = "") {
        self.init(backing: .ed25519(key), publicKey: SSHPublicKey(backing: .ed25519(key.publicKey)), comment: comment)
    }

    /// Wraps a swift-crypto P-256 key.
    public init(_ key: P256.Signing.PrivateKey, comment: String = "") {
        self.init(backing: .p256(key), publicKey: SSHPublicKey(backing: .p256(key.publicKey)), comment: comment)
    }

    /// Wraps a swift-crypto P-384 key.
    public init(_ key: P384.Signing.PrivateKey, comment: String = "") {
        self.init(backing: .p384(key), publicKey: SSHPublicKey(backing: .p384(key.publicKey)), comment: comment)
    }

    /// Wraps a swift-crypto P-521 key.
    public init(_ key: P521.Signing.PrivateKey, comment: String = "") {
        self.init(backing: .p521(key), publicKey: SSHPublicKey(backing: .p521(key.publicKey)), comment: comment)
    }

    /// Wraps a swift-crypto RSA key (2048 to 16384 bits).
    public init(_ key: _RSA.Signing.PrivateKey, comment: String = "") throws {
        // swift-crypto's DER form of an RSA private key is PKCS#1 RSAPrivateKey.
        try self.init(pkcs1DER: Array(key.derRepresentation), comment: comment)
    }

    /// Generates a new key. RSA generation takes a noticeable time (hundreds of ms at 3072 bits):
    /// call it off any event loop.
    public init(generating type: SSHKeyType, rsaBits: Int = 3072, comment: String = "") throws {
        switch type {
        case .ed25519: self.init(Curve25519.Signing.PrivateKey(), comment: comment)
        case .ecdsaP256: self.init(P256.Signing.PrivateKey(), comment: comment)
        case .ecdsaP384: self.init(P384.Signing.PrivateKey(), comment: comment)
        case .ecdsaP521: self.init(P521.Signing.PrivateKey(), comment: comment)
        case .rsa:
            guard rsaBits >= SSHPublicKey.minimumRSABits, rsaBits <= SSHPublicKey.maximumRSABits, rsaBits % 8 == 0 else {
                throw SSHKeyError(.weakKey, "RSA keys are generated with \(SSHPublicKey.minimumRSABits) to \(SSHPublicKey.maximumRSABits) bits (a multiple of 8)")
            }
            let key = try wrap(.invalidKey, "RSA key generation failed") { try _RSA.Signing.PrivateKey(keySize: .init(bitCount: rsaBits)) }
            try self.init(key, comment: comment)
        default:
            throw SSHKeyError(.signingUnavailable, "\(type.name) keys are made on a FIDO authenticator (ssh-keygen -t \(type == .securityKeyEd25519 ? "ed25519-sk" : "ecdsa-sk"))")
        }
    }

    /// Whether this key can sign in-process (FIDO key handles cannot).
    public var canSign: Bool {
        if case .securityKey = self.backing { return false }
        return true
    }

    /// The signature algorithm used when none is asked for: `rsa-sha2-512` for RSA, the key's own otherwise.
    public var defaultSignatureAlgorithm: SSHSignatureAlgorithm {
        switch self.publicKey.type {
        case .rsa: .rsaSHA512
        case .ecdsaP256: .ecdsaP256
        case .ecdsaP384: .ecdsaP384
        case .ecdsaP521: .ecdsaP521
        case .securityKeyEd25519: .securityKeyEd25519
        case .securityKeyECDSAP256: .securityKeyECDSAP256
        default: .ed25519
        }
    }

    /// Signs `data`. For RSA, `algorithm` picks `rsa-sha2-512` (default), `rsa-sha2-256` or the
    /// legacy `ssh-rsa` that crtauth v0/v1 require; for other keys it must be the key's own.
    public func signature(for data: some DataProtocol, algorithm: SSHSignatureAlgorithm? = nil) throws -> SSHSignature {
        let algorithm = algorithm ?? self.defaultSignatureAlgorithm
        guard algorithm.keyType == self.publicKey.type else {
            throw SSHKeyError(.keyTypeMismatch, "a \(self.publicKey.type.name) key cannot make \(algorithm.name) signatures")
        }
        switch self.backing {
        case .ed25519(let key):
            return SSHSignature(algorithm: algorithm, rawSignature: Array(try wrap(.invalidKey, "ed25519 signing failed") { try key.signature(for: data) }))
        case .p256(let key):
            return SSHSignature(algorithm: algorithm, rawSignature: Array(try wrap(.invalidKey, "ECDSA signing failed") { try key.signature(for: SHA256.hash(data: data)) }.rawRepresentation))
        case .p384(let key):
            return SSHSignature(algorithm: algorithm, rawSignature: Array(try wrap(.invalidKey, "ECDSA signing failed") { try key.signature(for: SHA384.hash(data: data)) }.rawRepresentation))
        case .p521(let key):
            return SSHSignature(algorithm: algorithm, rawSignature: Array(try wrap(.invalidKey, "ECDSA signing failed") { try key.signature(for: SHA512.hash(data: data)) }.rawRepresentation))
        case .rsa(let rsa):
            let signature: _RSA.Signing.RSASignature = try wrap(.invalidKey, "RSA signing failed") {
                switch algorithm {
                case .rsaSHA256: try rsa.key.signature(for: SHA256.hash(data: data), padding: .insecurePKCS1v1_5)
                case .rsaSHA512: try rsa.key.signature(for: SHA512.hash(data: data), padding: .insecurePKCS1v1_5)
                default: try rsa.key.signature(for: Insecure.SHA1.hash(data: data), padding: .insecurePKCS1v1_5)
                }
            }
            return SSHSignature(algorithm: algorithm, rawSignature: Array(signature.rawRepresentation))
        case .securityKey:
            throw SSHKeyError(.signingUnavailable, "\(self.publicKey.type.name) keys sign only on their authenticator; load the key into ssh-agent")
        }
    }
}

// MARK: - Private fields in agent / openssh-key-v1 format

extension SSHPrivateKey {
    /// Reads `string type ‖ private fields` as in the agent protocol and openssh-key-v1.
    static func read(from reader: inout SSHWireReader) throws -> SSHPrivateKey {
        let name = try reader.readText(field: "key type", limit: 128)
        guard let type = SSHKeyType(name: name) else {
            throw SSHKeyError(.unsupportedAlgorithm, "unsupported private key type \(SSHKeyError.quoted(name))")
        }
        switch type {
        case .ed25519:
            let pk = try reader.readString(field: "ed25519 public key", limit: 32)
            let sk = try reader.readString(field: "ed25519 private key", limit: 64)
            guard pk.count == 32, sk.count == 64 else { throw SSHKeyError(.invalidKey, "ed25519 private key fields have the wrong length") }
            let key = try wrap(.invalidKey, "not a valid ed25519 private key") { try Curve25519.Signing.PrivateKey(rawRepresentation: sk.prefix(32)) }
            guard key.publicKey.rawRepresentation.elementsEqual(pk), sk.suffix(32).elementsEqual(pk) else {
                throw SSHKeyError(.keyTypeMismatch, "the ed25519 private key does not match its public half")
            }
            return SSHPrivateKey(key)
        case .ecdsaP256, .ecdsaP384, .ecdsaP521:
            let size = type == .ecdsaP256 ? 32 : type == .ecdsaP384 ? 48 : 66
            let publicBacking = try SSHPublicKey.readKeyFields(type: type, from: &reader)
            let scalar = try reader.readPositiveMPInt(field: "EC private scalar", limit: size + 1)
            guard scalar.count <= size else { throw SSHKeyError(.invalidKey, "the EC private scalar is too large") }
            let raw = [UInt8](repeating: 0, count: size - scalar.count) + scalar
            let key: SSHPrivateKey = try wrap(.invalidKey, "not a valid EC private key") {
                switch type {
                case .ecdsaP256: SSHPrivateKey(try P256.Signing.PrivateKey(rawRepresentation: raw))
                case .ecdsaP384: SSHPrivateKey(try P384.Signing.PrivateKey(rawRepresentation: raw))
                default: SSHPrivateKey(try P521.Signing.PrivateKey(rawRepresentation: raw))
                }
            }
            guard key.publicKey == SSHPublicKey(backing: publicBacking) else {
                throw SSHKeyError(.keyTypeMismatch, "the EC private key does not match its public point")
            }
            return key
        case .rsa:
            let n = try reader.readPositiveMPInt(field: "RSA n")
            let e = try reader.readPositiveMPInt(field: "RSA e", limit: SSHPublicKey.maximumRSAExponentBytes + 1)
            let d = try reader.readPositiveMPInt(field: "RSA d")
            let iqmp = try reader.readPositiveMPInt(field: "RSA iqmp")
            let p = try reader.readPositiveMPInt(field: "RSA p")
            let q = try reader.readPositiveMPInt(field: "RSA q")
            return try SSHPrivateKey(rsaN: Array(n), e: Array(e), d: Array(d), iqmp: Array(iqmp), p: Array(p), q: Array(q), comment: "")
        default:
            let publicBacking = try SSHPublicKey.readKeyFields(type: type, from: &reader)
            let flags = try reader.readByte()
            let handle = try reader.readString(field: "security key handle", limit: 4096)
            let reserved = try reader.readString(field: "reserved", limit: 4096)
            return SSHPrivateKey(
                backing: .securityKey(SecurityKeyHandle(flags: flags, keyHandle: Array(handle), reserved: Array(reserved))),
                publicKey: SSHPublicKey(backing: publicBacking), comment: ""
            )
        }
    }

    init(rsaN n: [UInt8], e: [UInt8], d: [UInt8], iqmp: [UInt8], p: [UInt8], q: [UInt8], comment: String) throws {
        let publicRSA = try SSHPublicKey.makeRSA(modulus: n, exponent: e)
        let key = try wrap(.invalidKey, "not a consistent RSA private key") { try _RSA.Signing.PrivateKey(n: n, e: e, d: d, p: p, q: q) }
        // BoringSSL checks n = p·q and d; iqmp is ours to check: it is re-derived on import, so a
        // wrong one would only make the written file differ. Compare it with the PKCS#1 value.
        var components = try Self.pkcs1Components(Array(key.derRepresentation))
        guard components.n == publicRSA.modulus else {
            throw SSHKeyError(.invalidKey, "the RSA private key does not match its modulus")
        }
        guard components.iqmp == iqmp.drop(while: { $0 == 0 }).map({ $0 }) else {
            throw SSHKeyError(.invalidKey, "the RSA private key's iqmp is not q⁻¹ mod p")
        }
        components.key = key
        self.init(backing: .rsa(components), publicKey: SSHPublicKey(backing: .rsa(publicRSA)), comment: comment)
    }

    init(pkcs1DER der: [UInt8], comment: String) throws {
        let c = try Self.pkcs1Components(der)
        try self.init(rsaN: c.n, e: c.e, d: c.d, iqmp: c.iqmp, p: c.p, q: c.q, comment: comment)
    }

    /// Reads RSAPrivateKey (RFC 8017 A.1.2); `key` is filled from the DER.
    static func pkcs1Components(_ der: [UInt8]) throws -> RSAPrivateKey {
        var outer = DERReader(der)
        var seq = DERReader(try outer.read(tag: 0x30))
        guard outer.isAtEnd else { throw SSHKeyError(.trailingBytes, "bytes after the RSA private key") }
        guard try seq.readUnsignedInteger().isEmpty else {
            throw SSHKeyError(.unsupportedAlgorithm, "multi-prime RSA keys are not supported")
        }
        let n = Array(try seq.readUnsignedInteger()), e = Array(try seq.readUnsignedInteger())
        let d = Array(try seq.readUnsignedInteger()), p = Array(try seq.readUnsignedInteger())
        let q = Array(try seq.readUnsignedInteger())
        _ = try seq.readUnsignedInteger()
        _ = try seq.readUnsignedInteger()
        let iqmp = Array(try seq.readUnsignedInteger())
        guard seq.isAtEnd else { throw SSHKeyError(.trailingBytes, "unexpected fields in the RSA private key") }
        _ = try SSHPublicKey.makeRSA(modulus: n, exponent: e)
        let key = try wrap(.invalidKey, "not a valid RSA private key") { try _RSA.Signing.PrivateKey(derRepresentation: der) }
        return RSAPrivateKey(key: key, n: n, e: e, d: d, iqmp: iqmp, p: p, q: q)
    }

    /// Writes `string type ‖ private fields` as in the agent protocol and openssh-key-v1.
    func write(to writer: inout SSHWireWriter) {
        writer.writeString(self.publicKey.type.name)
        switch self.backing {
        case .ed25519(let key):
            writer.writeString(Array(key.publicKey.rawRepresentation))
            writer.writeString(Array(key.rawRepresentation) + Array(key.publicKey.rawRepresentation))
        case .p256(let key):
            SSHPublicKey.writeKeyFields(self.publicKey.backing, to: &writer)
            writer.writePositiveMPInt(Array(key.rawRepresentation))
        case .p384(let key):
            SSHPublicKey.writeKeyFields(self.publicKey.backing, to: &writer)
            writer.writePositiveMPInt(Array(key.rawRepresentation))
        case .p521(let key):
            SSHPublicKey.writeKeyFields(self.publicKey.backing, to: &writer)
            writer.writePositiveMPInt(Array(key.rawRepresentation))
        case .rsa(let rsa):
            for part in [rsa.n, rsa.e, rsa.d, rsa.iqmp, rsa.p, rsa.q] { writer.writePositiveMPInt(part) }
        case .securityKey(let handle):
            SSHPublicKey.writeKeyFields(self.publicKey.backing, to: &writer)
            writer.writeByte(handle.flags)
            writer.writeString(handle.keyHandle)
            writer.writeString(handle.reserved)
        }
    }
}

extension SSHPrivateKey {
    /// `string type ‖ private fields ‖ string comment`, as SSH_AGENTC_ADD_IDENTITY carries it.
    package var agentEncoding: [UInt8] {
        var writer = SSHWireWriter()
        self.write(to: &writer)
        writer.writeString(self.comment)
        return writer.bytes
    }
}
