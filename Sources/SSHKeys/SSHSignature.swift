import Crypto
import _CryptoExtras
import Foundation

/// An SSH signature blob: `string algorithm ‖ string signature` (RFC 4253 §6.6, RFC 8332,
/// RFC 5656 §3.1.2), plus `byte flags ‖ uint32 counter` for FIDO security keys.
///
/// ECDSA signatures are kept as fixed-width `r ‖ s` once parsed, so verifying does no
/// re-encoding.
public struct SSHSignature: Hashable, Sendable {
    /// The algorithm named in the blob.
    public let algorithm: SSHSignatureAlgorithm
    /// The signature bytes: raw Ed25519 (64 bytes), PKCS#1 v1.5 for RSA, or fixed-width `r ‖ s`
    /// for ECDSA.
    public let rawSignature: [UInt8]
    /// FIDO flags (0x01 user present, 0x04 user verified) of a security-key signature.
    public let securityKeyFlags: UInt8?
    /// FIDO signature counter of a security-key signature.
    public let securityKeyCounter: UInt32?

    /// User-presence flag of a FIDO signature.
    public static let userPresentFlag: UInt8 = 0x01
    /// User-verification flag of a FIDO signature.
    public static let userVerifiedFlag: UInt8 = 0x04

    /// Creates a signature from its parts (`rawSignature` as documented there).
    public init(algorithm: SSHSignatureAlgorithm, rawSignature: [UInt8], securityKeyFlags: UInt8? = nil, securityKeyCounter: UInt32? = nil) {
        self.algorithm = algorithm
        self.rawSignature = rawSignature
        self.securityKeyFlags = securityKeyFlags
        self.securityKeyCounter = securityKeyCounter
    }

    /// Parses a signature blob; the whole input must be the blob.
    public init(wireBlob: some Collection<UInt8>) throws {
        var reader = SSHWireReader(wireBlob, what: "signature blob")
        try self.init(reading: &reader)
        try reader.expectEnd()
    }

    init(reading reader: inout SSHWireReader) throws {
        let name = try reader.readString(field: "signature algorithm", limit: 128)
        guard let algorithm = SSHSignatureAlgorithm(utf8: name) else {
            throw SSHKeyError(.unsupportedAlgorithm, "unsupported signature algorithm \(SSHKeyError.quoted(name))")
        }
        let inner = try reader.readString(field: "signature", limit: SSHPublicKey.maximumRSABits / 8 + 16)
        let raw: [UInt8]
        switch algorithm.keyType {
        case .ed25519, .securityKeyEd25519:
            guard inner.count == 64 else {
                throw SSHKeyError(.invalidSignature, "an ed25519 signature is 64 bytes, not \(inner.count)")
            }
            raw = Array(inner)
        case .rsa:
            guard !inner.isEmpty else { throw SSHKeyError(.invalidSignature, "empty RSA signature") }
            raw = Array(inner)
        default:
            let width = algorithm.keyType == .ecdsaP384 ? 48 : algorithm.keyType == .ecdsaP521 ? 66 : 32
            var pair = SSHWireReader(inner, what: "ECDSA signature")
            let r = try pair.readPositiveMPInt(field: "r", limit: width + 1)
            let s = try pair.readPositiveMPInt(field: "s", limit: width + 1)
            try pair.expectEnd()
            guard r.count <= width, s.count <= width, !r.isEmpty, !s.isEmpty else {
                throw SSHKeyError(.invalidSignature, "ECDSA r or s out of range for \(algorithm.name)")
            }
            raw = [UInt8](repeating: 0, count: width - r.count) + r + [UInt8](repeating: 0, count: width - s.count) + s
        }
        if algorithm.isSecurityKey {
            self.init(algorithm: algorithm, rawSignature: raw, securityKeyFlags: try reader.readByte(), securityKeyCounter: try reader.readUInt32())
        } else {
            self.init(algorithm: algorithm, rawSignature: raw)
        }
    }

    /// The signature's wire blob.
    public var wireBlob: [UInt8] {
        var writer = SSHWireWriter()
        writer.writeString(self.algorithm.name)
        switch self.algorithm.keyType {
        case .ed25519, .securityKeyEd25519, .rsa:
            writer.writeString(self.rawSignature)
        default:
            let half = self.rawSignature.count / 2
            var pair = SSHWireWriter()
            pair.writePositiveMPInt(self.rawSignature[..<half])
            pair.writePositiveMPInt(self.rawSignature[half...])
            writer.writeString(pair.bytes)
        }
        if let flags = self.securityKeyFlags, let counter = self.securityKeyCounter {
            writer.writeByte(flags)
            writer.writeUInt32(counter)
        }
        return writer.bytes
    }
}

/// Why ``SSHPublicKey/verify(_:for:policy:)`` refuses a signature.
@usableFromInline
enum SignatureProblem: Sendable {
    case keyTypeMismatch, rsaSignatureTooLong, sha1NotAllowed, invalid, noUserPresence, noUserVerification
}

extension SSHKeyError {
    @usableFromInline
    init(_ problem: SignatureProblem, signature: SSHSignature, key: SSHPublicKey) {
        switch problem {
        case .keyTypeMismatch:
            self.init(.keyTypeMismatch, "a \(signature.algorithm.name) signature cannot come from a \(key.type.name) key")
        case .rsaSignatureTooLong:
            self.init(.invalidSignature, "the RSA signature is longer than the modulus")
        case .sha1NotAllowed:
            self.init(.algorithmNotAllowed, "ssh-rsa (SHA-1) signatures are refused; sign with rsa-sha2-256 or rsa-sha2-512")
        case .invalid:
            self.init(.invalidSignature, "the \(signature.algorithm.name) signature does not verify with key \(key.sha256Fingerprint)")
        case .noUserPresence:
            self.init(.userPresenceRequired, "the security key signed without user presence (no touch)")
        case .noUserVerification:
            self.init(.userPresenceRequired, "the security key signed without user verification (no PIN)")
        }
    }
}

/// What a verifier accepts beyond a mathematically valid signature.
public struct SSHVerificationPolicy: Sendable, Hashable {
    /// Accept `ssh-rsa` (PKCS#1 v1.5 with SHA-1). Only crtauth v0/v1 interoperability needs it.
    public var allowsInsecureSHA1RSA: Bool
    /// Require the FIDO user-presence flag on security-key signatures.
    public var requiresUserPresence: Bool
    /// Require the FIDO user-verification flag (PIN or biometrics) on security-key signatures.
    public var requiresUserVerification: Bool

    public init(allowsInsecureSHA1RSA: Bool = false, requiresUserPresence: Bool = true, requiresUserVerification: Bool = false) {
        self.allowsInsecureSHA1RSA = allowsInsecureSHA1RSA
        self.requiresUserPresence = requiresUserPresence
        self.requiresUserVerification = requiresUserVerification
    }

    /// SHA-2 only; security keys must show user presence.
    public static let standard = SSHVerificationPolicy()
    /// ``standard`` plus legacy `ssh-rsa` SHA-1 signatures, as crtauth v0 and v1 need.
    public static let insecureLegacySHA1 = SSHVerificationPolicy(allowsInsecureSHA1RSA: true)
}

extension SSHPublicKey {
    /// Verifies `signature` over `data`, throwing ``SSHKeyError`` with a reason when it is not
    /// acceptable: ``SSHKeyError/Code-swift.struct/invalidSignature``,
    /// ``SSHKeyError/Code-swift.struct/keyTypeMismatch`` (algorithm does not fit the key),
    /// ``SSHKeyError/Code-swift.struct/algorithmNotAllowed`` or
    /// ``SSHKeyError/Code-swift.struct/userPresenceRequired``.
    @inlinable
    public func verify(_ signature: SSHSignature, for data: some DataProtocol, policy: SSHVerificationPolicy = .standard) throws {
        if let problem = self.problem(with: signature, for: data, policy: policy) {
            throw SSHKeyError(problem, signature: signature, key: self)
        }
    }

    /// `true` when ``verify(_:for:policy:)`` would not throw.
    @inlinable
    public func isValidSignature(_ signature: SSHSignature, for data: some DataProtocol, policy: SSHVerificationPolicy = .standard) -> Bool {
        self.problem(with: signature, for: data, policy: policy) == nil
    }

    /// Inlinable so that callers get it specialised for their collection; the work is one
    /// non-generic body over contiguous bytes.
    @inlinable
    func problem(with signature: SSHSignature, for data: some DataProtocol, policy: SSHVerificationPolicy) -> SignatureProblem? {
        if let problem = data.withContiguousStorageIfAvailable({ self.problem(with: signature, bytes: UnsafeRawBufferPointer($0), policy: policy) }) {
            return problem
        }
        return Array(data).withUnsafeBytes { self.problem(with: signature, bytes: $0, policy: policy) }
    }

    /// Why a signature is not acceptable, or `nil` when it is. No error is made here: a wrong
    /// signature (an expected outcome on servers) costs no more than a right one.
    @usableFromInline
    func problem(with signature: SSHSignature, bytes data: UnsafeRawBufferPointer, policy: SSHVerificationPolicy) -> SignatureProblem? {
        guard signature.algorithm.keyType == self.type else { return .keyTypeMismatch }
        let valid: Bool
        switch self.backing {
        case .ed25519(let key):
            valid = key.isValidSignature(signature.rawSignature, for: data)
        case .p256(let key):
            valid = Self.checkECDSA(signature.rawSignature) { try key.isValidSignature(.init(rawRepresentation: $0), for: SHA256.hash(data: data)) }
        case .p384(let key):
            valid = Self.checkECDSA(signature.rawSignature) { try key.isValidSignature(.init(rawRepresentation: $0), for: SHA384.hash(data: data)) }
        case .p521(let key):
            valid = Self.checkECDSA(signature.rawSignature) { try key.isValidSignature(.init(rawRepresentation: $0), for: SHA512.hash(data: data)) }
        case .rsa(let rsa):
            let raw = signature.rawSignature[...]
            guard raw.count <= rsa.signatureWidth else { return .rsaSignatureTooLong }
            switch signature.algorithm {
            case .rsaSHA256:
                valid = rsa.isValidPKCS1(raw, digest: SHA256.hash(data: data))
            case .rsaSHA512:
                valid = rsa.isValidPKCS1(raw, digest: SHA512.hash(data: data))
            default:
                guard policy.allowsInsecureSHA1RSA else { return .sha1NotAllowed }
                valid = rsa.isValidPKCS1(raw, digest: Insecure.SHA1.hash(data: data))
            }
        case .skEd25519(let key, let application):
            let message = Self.securityKeyMessage(application: application, signature: signature, data: data)
            valid = key.isValidSignature(signature.rawSignature, for: message)
        case .skP256(let key, let application):
            let message = Self.securityKeyMessage(application: application, signature: signature, data: data)
            valid = Self.checkECDSA(signature.rawSignature) { try key.isValidSignature(.init(rawRepresentation: $0), for: SHA256.hash(data: message)) }
        }
        guard valid else { return .invalid }
        if let flags = signature.securityKeyFlags {
            if policy.requiresUserPresence, flags & SSHSignature.userPresentFlag == 0 { return .noUserPresence }
            if policy.requiresUserVerification, flags & SSHSignature.userVerifiedFlag == 0 { return .noUserVerification }
        }
        return nil
    }

    /// crtauth v0/v1's signature: bare PKCS#1 v1.5 with SHA-1 (no SSH blob around it), short
    /// ones left-padded. Only for crtauth's legacy versions, hence package access; `false` for a
    /// key that is not RSA.
    package func isValidLegacyRSASignature(_ signature: ArraySlice<UInt8>, for data: ArraySlice<UInt8>) -> Bool {
        guard case .rsa(let rsa) = self.backing, !signature.isEmpty else { return false }
        return data.withUnsafeBytes { rsa.isValidPKCS1(signature, digest: Insecure.SHA1.hash(data: $0)) }
    }

    private static func checkECDSA(_ raw: [UInt8], _ body: ([UInt8]) throws -> Bool) -> Bool {
        (try? body(raw)) ?? false
    }

    /// What a FIDO authenticator signs: `SHA256(application) ‖ flags ‖ counter ‖ SHA256(data)`.
    static func securityKeyMessage(application: [UInt8], signature: SSHSignature, data: some DataProtocol) -> [UInt8] {
        var message = Array(SHA256.hash(data: application))
        message.append(signature.securityKeyFlags ?? 0)
        let counter = signature.securityKeyCounter ?? 0
        message += [UInt8(counter >> 24), UInt8((counter >> 16) & 0xFF), UInt8((counter >> 8) & 0xFF), UInt8(counter & 0xFF)]
        message += SHA256.hash(data: data)
        return message
    }
}
