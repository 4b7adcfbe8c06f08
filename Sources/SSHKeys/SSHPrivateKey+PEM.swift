import Crypto
import _CryptoExtras
import Foundation

extension SSHPrivateKey {
    /// PKCS#8 prefix of an Ed25519 private key (RFC 8410), followed by the 32-byte seed.
    static let ed25519PKCS8Prefix: [UInt8] = [0x30, 0x2E, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]

    /// Reads any private key file we support: openssh-key-v1 (`OPENSSH PRIVATE KEY`), PKCS#1
    /// (`RSA PRIVATE KEY`), PKCS#8 (`PRIVATE KEY`) or SEC1 (`EC PRIVATE KEY`).
    public init(fileContents text: some StringProtocol, passphrase: String? = nil) throws {
        let block = try PEMBlock(parsing: text)
        if block.headers["Proc-Type"]?.contains("ENCRYPTED") == true {
            throw SSHKeyError(.unsupportedCipher, "legacy encrypted PEM keys are not supported; convert with 'ssh-keygen -p -f FILE' (writes openssh-key-v1)")
        }
        switch block.label {
        case Self.openSSHLabel:
            try self.init(openSSHBinary: block.der, passphrase: passphrase)
        case "RSA PRIVATE KEY":
            try self.init(pkcs1DER: block.der, comment: "")
        case "EC PRIVATE KEY", "PRIVATE KEY":
            try self.init(derPrivateKey: block.der)
        case "ENCRYPTED PRIVATE KEY":
            throw SSHKeyError(.unsupportedCipher, "encrypted PKCS#8 keys are not supported; convert with 'ssh-keygen -p -f FILE' (writes openssh-key-v1)")
        default:
            throw SSHKeyError(.invalidPEM, "unsupported private key block \(SSHKeyError.quoted(block.label))")
        }
    }

    /// Reads a PKCS#8 or SEC1 DER private key (Ed25519, ECDSA or RSA).
    init(derPrivateKey der: [UInt8]) throws {
        if der.count == 48, der.starts(with: Self.ed25519PKCS8Prefix) {
            self.init(try wrap(.invalidKey, "not a valid ed25519 key") { try Curve25519.Signing.PrivateKey(rawRepresentation: der.suffix(32)) })
        } else if let key = try? P256.Signing.PrivateKey(derRepresentation: der) {
            self.init(key)
        } else if let key = try? P384.Signing.PrivateKey(derRepresentation: der) {
            self.init(key)
        } else if let key = try? P521.Signing.PrivateKey(derRepresentation: der) {
            self.init(key)
        } else if let key = try? _RSA.Signing.PrivateKey(unsafeDERRepresentation: der) {
            guard key.keySizeInBits >= SSHPublicKey.minimumRSABits else {
                throw SSHKeyError(.weakKey, "RSA keys must have at least \(SSHPublicKey.minimumRSABits) bits; this one has \(key.keySizeInBits)")
            }
            try self.init(key)
        } else {
            throw SSHKeyError(.unsupportedAlgorithm, "not an Ed25519, ECDSA or RSA private key")
        }
    }

    /// The key as a PKCS#8 `PRIVATE KEY` PEM document (not for FIDO key handles).
    public func pkcs8PEM() throws -> String {
        let der: [UInt8]
        switch self.backing {
        case .ed25519(let key): der = Self.ed25519PKCS8Prefix + key.rawRepresentation
        case .p256(let key): return key.pemRepresentation
        case .p384(let key): return key.pemRepresentation
        case .p521(let key): return key.pemRepresentation
        case .rsa(let rsa): return rsa.key.pkcs8PEMRepresentation
        case .securityKey: throw SSHKeyError(.unsupportedAlgorithm, "FIDO key handles have no PKCS#8 form")
        }
        return PEMBlock(label: "PRIVATE KEY", der: der).armored()
    }
}
