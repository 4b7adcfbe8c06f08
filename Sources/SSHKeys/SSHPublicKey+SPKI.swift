import Crypto
import _CryptoExtras
import Foundation

extension SSHPublicKey {
    /// The DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410), followed by the 32-byte key.
    static let ed25519SPKIPrefix: [UInt8] = [0x30, 0x2A, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x03, 0x21, 0x00]

    /// The key as a DER SubjectPublicKeyInfo. FIDO keys have no such form and throw.
    public var spkiDER: [UInt8] {
        get throws {
            switch self.backing {
            case .ed25519(let key): return Self.ed25519SPKIPrefix + key.rawRepresentation
            case .p256(let key): return Array(key.derRepresentation)
            case .p384(let key): return Array(key.derRepresentation)
            case .p521(let key): return Array(key.derRepresentation)
            case .rsa(let rsa): return Array(rsa.key.derRepresentation)
            case .skEd25519, .skP256:
                throw SSHKeyError(.unsupportedAlgorithm, "\(self.type.name) keys have no SubjectPublicKeyInfo form")
            }
        }
    }

    /// The key as a `-----BEGIN PUBLIC KEY-----` PEM document (64-column lines).
    public var spkiPEM: String {
        get throws { PEMBlock(label: "PUBLIC KEY", der: try self.spkiDER).armored() }
    }

    /// Reads a DER SubjectPublicKeyInfo holding an Ed25519, ECDSA P-256/384/521 or RSA key.
    public init(spkiDER der: some Collection<UInt8>) throws {
        let bytes = Array(der)
        guard bytes.count <= 4096 else {
            throw SSHKeyError(.limitExceeded, "SubjectPublicKeyInfo is longer than 4096 bytes")
        }
        if bytes.count == 44, bytes.starts(with: Self.ed25519SPKIPrefix) {
            let key = try wrap(.invalidKey, "not a valid ed25519 key") { try Curve25519.Signing.PublicKey(rawRepresentation: bytes[12...]) }
            self.init(backing: .ed25519(key))
        } else if let key = try? P256.Signing.PublicKey(derRepresentation: bytes) {
            self.init(backing: .p256(key))
        } else if let key = try? P384.Signing.PublicKey(derRepresentation: bytes) {
            self.init(backing: .p384(key))
        } else if let key = try? P521.Signing.PublicKey(derRepresentation: bytes) {
            self.init(backing: .p521(key))
        } else if let key = try? _RSA.Signing.PublicKey(unsafeDERRepresentation: bytes) {
            let primitives = try wrap(.invalidKey, "not a valid RSA key") { try key.getKeyPrimitives() }
            self.init(backing: .rsa(try Self.makeRSA(modulus: primitives.modulus, exponent: primitives.publicExponent)))
        } else {
            throw SSHKeyError(.unsupportedAlgorithm, "not an Ed25519, ECDSA or RSA SubjectPublicKeyInfo")
        }
    }

    /// Reads a `-----BEGIN PUBLIC KEY-----` PEM document.
    public init(spkiPEM pem: some StringProtocol) throws {
        let block = try PEMBlock(parsing: pem)
        guard block.label == "PUBLIC KEY" else {
            throw SSHKeyError(.invalidPEM, "expected a PUBLIC KEY PEM block, got \(SSHKeyError.quoted(block.label))")
        }
        try self.init(spkiDER: block.der)
    }

    // MARK: JWK

    /// The key's public JWK members (RFC 7517/7518/8037), e.g. `["kty": "OKP", "crv": "Ed25519", "x": …]`.
    public var jwkMembers: [String: String] {
        get throws {
            switch self.backing {
            case .ed25519(let key):
                return ["kty": "OKP", "crv": "Ed25519", "x": Base64URL.encode(key.rawRepresentation)]
            case .p256(let key):
                return Self.ecJWK(curve: "P-256", x963: Array(key.x963Representation))
            case .p384(let key):
                return Self.ecJWK(curve: "P-384", x963: Array(key.x963Representation))
            case .p521(let key):
                return Self.ecJWK(curve: "P-521", x963: Array(key.x963Representation))
            case .rsa(let rsa):
                return ["kty": "RSA", "n": Base64URL.encode(rsa.modulus), "e": Base64URL.encode(rsa.exponent)]
            case .skEd25519, .skP256:
                throw SSHKeyError(.unsupportedAlgorithm, "\(self.type.name) keys have no JWK form")
            }
        }
    }

    private static func ecJWK(curve: String, x963: [UInt8]) -> [String: String] {
        let size = (x963.count - 1) / 2
        return ["kty": "EC", "crv": curve, "x": Base64URL.encode(x963[1...size]), "y": Base64URL.encode(x963[(1 + size)...])]
    }

    /// A key from its public JWK members: `OKP`/`Ed25519` (`x`), `EC` P-256/P-384/P-521 (`x`, `y`)
    /// or `RSA` (`n`, `e`), values in unpadded base64url. Other members are ignored.
    public init(jwkMembers members: [String: String]) throws {
        func field(_ name: String) throws -> [UInt8] {
            guard let text = members[name], text.utf8.count <= 4096, !text.contains("="), let bytes = Base64URL.decode(text) else {
                throw SSHKeyError(.invalidEncoding, "JWK member \(name) is missing or not base64url")
            }
            return bytes
        }
        switch (members["kty"], members["crv"]) {
        case ("OKP", "Ed25519"):
            let key = try wrap(.invalidKey, "not a valid Ed25519 JWK") { try Curve25519.Signing.PublicKey(rawRepresentation: try field("x")) }
            self.init(backing: .ed25519(key))
        case ("EC", let curve?) where ["P-256", "P-384", "P-521"].contains(curve):
            let x963 = [0x04] + (try field("x")) + (try field("y"))
            self.init(backing: try wrap(.invalidKey, "not a valid \(curve) JWK") {
                switch curve {
                case "P-256": .p256(try P256.Signing.PublicKey(x963Representation: x963))
                case "P-384": .p384(try P384.Signing.PublicKey(x963Representation: x963))
                default: .p521(try P521.Signing.PublicKey(x963Representation: x963))
                }
            })
        case ("RSA", _):
            try self.init(rsaModulus: try field("n"), exponent: try field("e"))
        default:
            throw SSHKeyError(.unsupportedAlgorithm, "unsupported JWK key type \(SSHKeyError.quoted(members["kty"] ?? "")) \(SSHKeyError.quoted(members["crv"] ?? ""))")
        }
    }

    /// The JWK as compact JSON with members in lexicographic order.
    public var jwkJSON: String {
        get throws { Self.canonicalJSON(try self.jwkMembers) }
    }

    /// The RFC 7638 JWK thumbprint: base64url SHA-256 of the required members in canonical JSON.
    public var jwkThumbprint: String {
        get throws {
            let members = try self.jwkMembers
            let required: Set<String> = switch members["kty"] {
            case "RSA": ["e", "kty", "n"]
            case "EC": ["crv", "kty", "x", "y"]
            default: ["crv", "kty", "x"]
            }
            let json = Self.canonicalJSON(members.filter { required.contains($0.key) })
            return Base64URL.encode(Array(SHA256.hash(data: Array(json.utf8))))
        }
    }

    /// Members are base64url values and fixed names: no character needs JSON escaping.
    private static func canonicalJSON(_ members: [String: String]) -> String {
        "{" + members.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\"\($0.value)\"" }.joined(separator: ",") + "}"
    }
}

