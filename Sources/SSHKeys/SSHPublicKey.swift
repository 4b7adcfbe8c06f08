import Crypto
import _CryptoExtras
import Foundation

/// An SSH public key of any supported type (not a certificate; see ``SSHCertificate``).
///
/// Built from its wire blob (RFC 4253 §6.6 and the OpenSSH extensions) or its `.pub` line.
/// Equal keys have equal wire blobs.
public struct SSHPublicKey: Hashable, Sendable {
    enum Backing: Sendable {
        case ed25519(Curve25519.Signing.PublicKey)
        case p256(P256.Signing.PublicKey)
        case p384(P384.Signing.PublicKey)
        case p521(P521.Signing.PublicKey)
        case rsa(RSAPublicKey)
        case skEd25519(Curve25519.Signing.PublicKey, application: [UInt8])
        case skP256(P256.Signing.PublicKey, application: [UInt8])
    }

    /// A class, so that the verification path's `switch` over ``Backing`` retains one object
    /// rather than each field.
    final class RSAPublicKey: Sendable {
        let modulus: [UInt8]
        let exponent: [UInt8]
        let key: _RSA.Signing.PublicKey
        let bitCount: Int

        init(modulus: [UInt8], exponent: [UInt8], key: _RSA.Signing.PublicKey, bitCount: Int) {
            self.modulus = modulus
            self.exponent = exponent
            self.key = key
            self.bitCount = bitCount
        }

        /// Bytes in a full-width signature.
        var signatureWidth: Int { (self.bitCount + 7) / 8 }

        /// PKCS#1 v1.5 over `digest`. A short signature is left-padded, as OpenSSH and paramiko
        /// do; a longer one than the modulus is invalid.
        func isValidPKCS1(_ signature: ArraySlice<UInt8>, digest: some Digest) -> Bool {
            let width = self.signatureWidth
            guard signature.count <= width else { return false }
            let parsed = signature.count == width ? _RSA.Signing.RSASignature(rawRepresentation: signature)
                : _RSA.Signing.RSASignature(rawRepresentation: [UInt8](repeating: 0, count: width - signature.count) + signature)
            return self.key.isValidSignature(parsed, for: digest, padding: .insecurePKCS1v1_5)
        }
    }

    let backing: Backing
    /// The canonical wire blob of the key.
    public let wireBlob: [UInt8]

    /// The key's type.
    public var type: SSHKeyType { Self.type(of: self.backing) }

    static func type(of backing: Backing) -> SSHKeyType {
        switch backing {
        case .ed25519: .ed25519
        case .p256: .ecdsaP256
        case .p384: .ecdsaP384
        case .p521: .ecdsaP521
        case .rsa: .rsa
        case .skEd25519: .securityKeyEd25519
        case .skP256: .securityKeyECDSAP256
        }
    }

    /// Size of the key in bits (the modulus for RSA, the curve for the others).
    public var bitCount: Int {
        switch self.backing {
        case .ed25519, .skEd25519, .p256, .skP256: 256
        case .p384: 384
        case .p521: 521
        case .rsa(let rsa): rsa.bitCount
        }
    }

    /// The FIDO application string of a security key (usually `ssh:`), else `nil`.
    public var securityKeyApplication: String? {
        switch self.backing {
        case .skEd25519(_, let app), .skP256(_, let app): String(decoding: app, as: UTF8.self)
        default: nil
        }
    }

    init(backing: Backing) {
        self.backing = backing
        self.wireBlob = Self.encode(backing)
    }

    private static func encode(_ backing: Backing) -> [UInt8] {
        var writer = SSHWireWriter()
        writer.writeString(Self.type(of: backing).name)
        Self.writeKeyFields(backing, to: &writer)
        return writer.bytes
    }

    /// Parses a public key wire blob; the whole input must be the blob.
    public init(wireBlob: some Collection<UInt8>) throws {
        var reader = SSHWireReader(wireBlob, what: "public key blob")
        let name = try reader.readString(field: "key type", limit: 128)
        guard let type = SSHKeyType(utf8: name) else {
            if SSHKeyType.forCertificateName(utf8: name) != nil {
                throw SSHKeyError(.unsupportedAlgorithm, "expected a plain public key but got a certificate (\(SSHKeyError.quoted(name)))")
            }
            throw SSHKeyError(.unsupportedAlgorithm, "unsupported key type \(SSHKeyError.quoted(name))")
        }
        let backing = try Self.readKeyFields(type: type, from: &reader)
        try reader.expectEnd()
        // The reader accepts only the canonical encoding (minimal mpints, exact lengths, nothing
        // after the last field), so the input is the blob: no need to write it again.
        self.backing = backing
        self.wireBlob = Array(wireBlob)
        assert(self.wireBlob == Self.encode(backing), "a parsed key blob is canonical")
    }

    public static func == (lhs: SSHPublicKey, rhs: SSHPublicKey) -> Bool { lhs.wireBlob == rhs.wireBlob }
    /// The blob's bytes at once (an array of bytes is otherwise hashed one element at a time).
    public func hash(into hasher: inout Hasher) { self.wireBlob.withUnsafeBytes { hasher.combine(bytes: $0) } }
}

// MARK: - Key fields (shared by plain keys, certificates and private keys)

extension SSHPublicKey {
    /// RSA moduli we accept, in bits. Under 2048 is weak (NIST SP 800-131A); over 16384 is the
    /// OpenSSH maximum (`SSHBUF_MAX_BIGNUM`) and a verification cost attack.
    public static let minimumRSABits = 2048
    public static let maximumRSABits = 16384
    /// The largest RSA public exponent we accept, in bytes (BoringSSL refuses larger ones).
    static let maximumRSAExponentBytes = 8
    /// The largest FIDO application string we accept (OpenSSH has no limit; real ones are short).
    static let maximumApplicationLength = 1024

    static func readKeyFields(type: SSHKeyType, from reader: inout SSHWireReader) throws -> Backing {
        switch type {
        case .ed25519, .securityKeyEd25519:
            let raw = try reader.readString(field: "ed25519 key", limit: 64)
            guard raw.count == 32 else {
                throw SSHKeyError(.invalidKey, "an ed25519 public key is 32 bytes, not \(raw.count)")
            }
            let key = try wrap(.invalidKey, "not a valid ed25519 public key") { try Curve25519.Signing.PublicKey(rawRepresentation: raw) }
            if type == .ed25519 { return .ed25519(key) }
            return .skEd25519(key, application: try readApplication(&reader))
        case .ecdsaP256, .ecdsaP384, .ecdsaP521, .securityKeyECDSAP256:
            let curve = try reader.readString(field: "curve name", limit: 64)
            let expected = type == .securityKeyECDSAP256 ? "nistp256" : String(type.name.dropFirst("ecdsa-sha2-".count))
            guard curve.elementsEqual(expected.utf8) else {
                throw SSHKeyError(.keyTypeMismatch, "key type \(type.name) carries curve \(SSHKeyError.quoted(curve))")
            }
            let point = try reader.readString(field: "EC point", limit: 133)
            guard point.first == 0x04 else {
                throw SSHKeyError(.invalidKey, "the EC point is not in uncompressed form")
            }
            switch type {
            case .ecdsaP256:
                return .p256(try wrap(.invalidKey, "not a valid P-256 point") { try P256.Signing.PublicKey(x963Representation: point) })
            case .ecdsaP384:
                return .p384(try wrap(.invalidKey, "not a valid P-384 point") { try P384.Signing.PublicKey(x963Representation: point) })
            case .ecdsaP521:
                return .p521(try wrap(.invalidKey, "not a valid P-521 point") { try P521.Signing.PublicKey(x963Representation: point) })
            default:
                let key = try wrap(.invalidKey, "not a valid P-256 point") { try P256.Signing.PublicKey(x963Representation: point) }
                return .skP256(key, application: try readApplication(&reader))
            }
        default:
            let exponent = try reader.readPositiveMPInt(field: "RSA exponent", limit: maximumRSAExponentBytes + 1)
            let modulus = try reader.readPositiveMPInt(field: "RSA modulus")
            return .rsa(try makeRSA(modulus: modulus, exponent: exponent))
        }
    }

    static func makeRSA(modulus: some Collection<UInt8>, exponent: some Collection<UInt8>) throws -> RSAPublicKey {
        let n = Array(modulus.drop { $0 == 0 })
        let e = Array(exponent.drop { $0 == 0 })
        let bits = n.isEmpty ? 0 : n.count * 8 - n[0].leadingZeroBitCount
        guard bits >= minimumRSABits else {
            throw SSHKeyError(.weakKey, "RSA keys must have at least \(minimumRSABits) bits; this one has \(bits)")
        }
        guard bits <= maximumRSABits else {
            throw SSHKeyError(.limitExceeded, "RSA keys may have at most \(maximumRSABits) bits; this one has \(bits)")
        }
        guard let last = e.last, last & 1 == 1, e.count > 1 || last >= 3 else {
            throw SSHKeyError(.invalidKey, "the RSA public exponent must be odd and at least 3")
        }
        guard n.last.map({ $0 & 1 == 1 }) == true else {
            throw SSHKeyError(.invalidKey, "the RSA modulus must be odd")
        }
        let key = try wrap(.invalidKey, "not a valid RSA public key") { try _RSA.Signing.PublicKey(n: n, e: e) }
        return RSAPublicKey(modulus: n, exponent: e, key: key, bitCount: bits)
    }

    private static func readApplication(_ reader: inout SSHWireReader) throws -> [UInt8] {
        Array(try reader.readString(field: "security key application", limit: maximumApplicationLength))
    }

    static func writeKeyFields(_ backing: Backing, to writer: inout SSHWireWriter) {
        switch backing {
        case .ed25519(let key):
            writer.writeString(Array(key.rawRepresentation))
        case .skEd25519(let key, let app):
            writer.writeString(Array(key.rawRepresentation))
            writer.writeString(app)
        case .p256(let key):
            writer.writeString("nistp256")
            writer.writeString(Array(key.x963Representation))
        case .p384(let key):
            writer.writeString("nistp384")
            writer.writeString(Array(key.x963Representation))
        case .p521(let key):
            writer.writeString("nistp521")
            writer.writeString(Array(key.x963Representation))
        case .skP256(let key, let app):
            writer.writeString("nistp256")
            writer.writeString(Array(key.x963Representation))
            writer.writeString(app)
        case .rsa(let rsa):
            writer.writePositiveMPInt(rsa.exponent)
            writer.writePositiveMPInt(rsa.modulus)
        }
    }
}

/// Runs a swift-crypto call and turns its error into an ``SSHKeyError`` with our own message.
@inline(__always)
func wrap<T>(_ code: SSHKeyError.Code, _ message: @autoclosure () -> String, _ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as SSHKeyError {
        throw error
    } catch {
        throw SSHKeyError(code, message())
    }
}

// MARK: - OpenSSH text form

extension SSHPublicKey {
    /// Longest `.pub` line we read: a 16384-bit RSA key is about 2.8 KB of base64.
    public static let maximumLineLength = 16 * 1024

    /// Parses an OpenSSH public key line, `type base64 [comment]`, checking that the label
    /// agrees with the key inside.
    public init(openSSHLine line: some StringProtocol) throws {
        self = try Self.parseOpenSSHLine(line).key
    }

    /// Parses an OpenSSH public key line and returns the key and its comment.
    public static func parseOpenSSHLine(_ line: some StringProtocol) throws -> (key: SSHPublicKey, comment: String) {
        guard line.utf8.count <= maximumLineLength else {
            throw SSHKeyError(.limitExceeded, "public key line is longer than \(maximumLineLength) bytes")
        }
        let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
        let parts = trimmed.split(maxSplits: 2, omittingEmptySubsequences: true, whereSeparator: { $0 == " " || $0 == "\t" })
        guard parts.count >= 2 else {
            throw SSHKeyError(.invalidLine, "a public key line is 'TYPE BASE64 [COMMENT]'")
        }
        let blob = try decodeBase64(parts[1], what: "public key")
        let key = try SSHPublicKey(wireBlob: blob)
        guard parts[0] == key.type.name else {
            throw SSHKeyError(.keyTypeMismatch, "the line says \(SSHKeyError.quoted(parts[0])) but the key inside is \(key.type.name)")
        }
        let comment = parts.count > 2 ? String(parts[2]).trimmingCharacters(in: .whitespaces) : ""
        return (key, comment)
    }

    /// The OpenSSH `.pub` line for this key, with an optional comment (no newline).
    public func openSSHLine(comment: String = "") -> String {
        let base = self.type.name + " " + Data(self.wireBlob).base64EncodedString()
        return comment.isEmpty ? base : base + " " + comment
    }
}

extension SSHPublicKey {
    /// An RSA key from its big-endian modulus and exponent (as in a JWK), 2048 to 16384 bits.
    public init(rsaModulus modulus: some Collection<UInt8>, exponent: some Collection<UInt8>) throws {
        guard exponent.count <= Self.maximumRSAExponentBytes, modulus.count <= Self.maximumRSABits / 8 + 1 else {
            throw SSHKeyError(.limitExceeded, "RSA modulus or exponent too long")
        }
        self.init(backing: .rsa(try Self.makeRSA(modulus: modulus, exponent: exponent)))
    }
}
