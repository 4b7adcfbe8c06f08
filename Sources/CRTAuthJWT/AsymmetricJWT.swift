import AuthCore
import Crypto
import SSHKeys
import Synchronization

/// asymmetric_jwt_auth's per-request JWTs (`Authorization: JWT <jws>`), both sides,
/// wire-compatible with asymmetric_jwt_auth 1.3.0:
///
/// - header `{"alg":"EdDSA"|"RS512"|…,"kid":"<hex SHA-256 of the SPKI PEM>","typ":"JWT"}`;
/// - claims `{"username":…,"time":<integer Unix seconds>,"nonce":…}`, no `aud`;
/// - a compact JWS signed with the user's SSH key (in ssh-agent or a key file).
///
/// The server side is stricter than asymmetric_jwt_auth where that costs no compatible client
/// anything: `time` must be an integer and `nonce` a string (1.x clients send both so), the
/// replay check is atomic, and `alg` must fit the key.
public enum AsymmetricJWT {
    /// The `Authorization` scheme; matched case-insensitively, as asymmetric_jwt_auth does.
    public static let scheme = "JWT"
    /// asymmetric_jwt_auth's `TIMESTAMP_TOLERANCE`.
    public static let defaultTolerance: UInt64 = 20
    /// Longest token read (asymmetric_jwt_auth's are under 1 KiB with RSA-4096).
    public static let maximumTokenLength = 8 * 1024
    /// At most this many of a user's keys are tried for a token whose `kid` names none of them.
    public static let maximumKeysTried = 8
    /// Longest `username` or `nonce` claim accepted.
    public static let maximumClaimLength = 256

    /// The JWS `alg` values this side speaks.
    public enum Algorithm: String, Sendable, CaseIterable {
        case edDSA = "EdDSA"
        /// RFC 9864's name for EdDSA with Ed25519 (accepted; asymmetric_jwt_auth refuses it).
        case ed25519 = "Ed25519"
        case rs256 = "RS256"
        case rs384 = "RS384"
        case rs512 = "RS512"
        case es256 = "ES256"
        case es384 = "ES384"

        public var signatureAlgorithm: RawSignatureAlgorithm {
            switch self {
            case .edDSA, .ed25519: .ed25519
            case .rs256: .rsaPKCS1SHA256
            case .rs384: .rsaPKCS1SHA384
            case .rs512: .rsaPKCS1SHA512
            case .es256: .ecdsaP256SHA256
            case .es384: .ecdsaP384SHA384
            }
        }

        /// What a client signs with for `keyType`: asymmetric_jwt_auth's choice for RSA
        /// (RS512) and Ed25519 (EdDSA), the matching ES algorithm for ECDSA.
        public static func preferred(for keyType: SSHKeyType) -> Algorithm? {
            switch keyType {
            case .ed25519: .edDSA
            case .rsa: .rs512
            case .ecdsaP256: .es256
            case .ecdsaP384: .es384
            default: nil
            }
        }
    }

    // MARK: Client

    /// A fresh nonce as asymmetric_jwt_auth makes it: 8 random bytes, base64url (11 characters).
    public static func makeNonce() -> String {
        var generator = SystemRandomNumberGenerator()
        return Base64URL.encode((0..<8).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }

    /// A signed token for `username` at `time`, with the header and claims asymmetric_jwt_auth
    /// emits (byte for byte, for the same key, time and nonce).
    public static func token(username: String, signer: any Signer, time: UInt64, nonce: String = AsymmetricJWT.makeNonce()) async throws -> String {
        let key = signer.publicKey
        guard let algorithm = Algorithm.preferred(for: key.type), let kid = key.asymmetricJWTKeyID else {
            throw JWTError(.invalidConfiguration, "\(key.type.name) keys cannot sign JWTs; use an Ed25519, ECDSA P-256/P-384 or RSA key")
        }
        let header = "{\"alg\":\"\(algorithm.rawValue)\",\"kid\":\"\(kid)\",\"typ\":\"JWT\"}"
        let claims = "{\"username\":\(jsonStringLiteral(username, asciiOnly: true)),\"time\":\(time),\"nonce\":\(jsonStringLiteral(nonce, asciiOnly: true))}"
        let signingInput = Base64URL.encode(Array(header.utf8)) + "." + Base64URL.encode(Array(claims.utf8))
        let signature = try await signer.signRaw(Array(signingInput.utf8), algorithm: algorithm.signatureAlgorithm)
        return signingInput + "." + Base64URL.encode(signature)
    }

    /// The `Authorization` header value: `JWT <token>`.
    public static func authorization(username: String, signer: any Signer, time: UInt64) async throws -> String {
        "\(self.scheme) " + (try await self.token(username: username, signer: signer, time: time))
    }

    // MARK: Server

    /// The parts of a token, parsed but not verified.
    public struct UnverifiedToken: Sendable {
        public let algorithm: Algorithm
        public let keyID: String?
        public let username: String
        public let time: UInt64
        public let nonce: String
        let signingInput: ArraySlice<UInt8>
        let signature: [UInt8]
        let expiresAt: Int64?
        let notBefore: Int64?
        let issuedAt: Int64?

        /// Parses a compact JWS and its header and claims. Throws ``JWTError`` for anything
        /// that is not a well-formed asymmetric_jwt_auth token.
        public init(_ token: String) throws {
            try self.init(token[...])
        }

        /// Parses a compact JWS (see ``init(_:)-(String)``).
        public init(_ token: Substring) throws {
            var token = token
            let bytes = token.withUTF8 { Array($0) }
            guard bytes.count <= AsymmetricJWT.maximumTokenLength else {
                throw JWTError(.tooLarge, "the JWT is longer than \(AsymmetricJWT.maximumTokenLength) bytes")
            }
            // One pass over the bytes (this runs per request): exactly two dots, no padding.
            var dots: [Int] = [], padded = false
            bytes.withUnsafeBufferPointer { buffer in
                for index in buffer.indices {
                    if buffer[index] == UInt8(ascii: ".") { dots.append(index) } else if buffer[index] == UInt8(ascii: "=") { padded = true }
                }
            }
            guard dots.count == 2 else { throw JWTError(.malformed, "a JWT is three base64url parts separated by dots") }
            guard !padded else { throw JWTError(.malformed, "a JWT part is not unpadded base64url") }
            let (firstDot, secondDot) = (dots[0], dots[1])
            let (headerBytes, claimBytes) = try bytes.withUnsafeBufferPointer { buffer in
                (try Self.decode(buffer, 0..<firstDot), try Self.decode(buffer, (firstDot + 1)..<secondDot))
            }
            let header = try JSONObjectParser.parse(headerBytes)
            guard case .string(let name)? = header["alg"] else { throw JWTError(.malformed, "the JWT header has no \"alg\" string") }
            guard let algorithm = Algorithm(rawValue: name) else {
                throw JWTError(.unsupported, "JWT algorithm \"\(name.prefix(16))\" is not accepted (none and HMAC never are)")
            }
            if header["crit"] != nil { throw JWTError(.unsupported, "the JWT header has \"crit\" extensions this server does not understand") }
            switch header["kid"] {
            case nil: self.keyID = nil
            case .string(let kid)? where kid.utf8.count <= 256: self.keyID = kid
            default: throw JWTError(.malformed, "the JWT header's \"kid\" must be a string of at most 256 bytes")
            }
            let claims = try JSONObjectParser.parse(claimBytes)
            guard case .string(let username)? = claims["username"], !username.isEmpty, username.utf8.count <= AsymmetricJWT.maximumClaimLength else {
                throw JWTError(.malformed, "the JWT's \"username\" claim must be a non-empty string of at most \(AsymmetricJWT.maximumClaimLength) bytes")
            }
            guard case .integer(let time)? = claims["time"], time > 0 else {
                throw JWTError(.malformed, "the JWT's \"time\" claim must be integer Unix seconds, not \(claims["time"]?.kind ?? "missing")")
            }
            guard case .string(let nonce)? = claims["nonce"], !nonce.isEmpty, nonce.utf8.count <= AsymmetricJWT.maximumClaimLength else {
                throw JWTError(.malformed, "the JWT's \"nonce\" claim must be a non-empty string of at most \(AsymmetricJWT.maximumClaimLength) bytes")
            }
            // PyJWT, under asymmetric_jwt_auth, refuses any audience (it passes none) and checks
            // exp/nbf/iat when present; so do we.
            if claims["aud"] != nil { throw JWTError(.malformed, "the JWT has an \"aud\" claim; asymmetric_jwt_auth tokens have no audience") }
            self.expiresAt = try Self.numericDate(claims, "exp")
            self.notBefore = try Self.numericDate(claims, "nbf")
            self.issuedAt = try Self.numericDate(claims, "iat")
            self.algorithm = algorithm
            self.username = username
            self.time = UInt64(time)
            self.nonce = nonce
            self.signingInput = bytes[..<secondDot]
            // Decoded last, so that `alg: none` with its empty signature is named as such.
            self.signature = try bytes.withUnsafeBufferPointer { try Self.decode($0, (secondDot + 1)..<$0.count) }
        }

        private static func decode(_ buffer: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) throws -> [UInt8] {
            let part = UnsafeBufferPointer(rebasing: buffer[range])
            guard !part.isEmpty, let bytes = Base64URL.decode(utf8: part) else {
                throw JWTError(.malformed, "a JWT part is not unpadded base64url")
            }
            return bytes
        }

        private static func numericDate(_ claims: JSONObject, _ name: String) throws -> Int64? {
            switch claims[name] {
            case nil: return nil
            case .integer(let value)?: return value
            case .number(let value)?: return Int64(exactly: value.rounded(.down)) ?? (value < 0 ? Int64.min : Int64.max)
            default: throw JWTError(.malformed, "the JWT's \"\(name)\" claim must be a number")
            }
        }
    }

    /// Checks `Authorization: JWT …` values against users' keys.
    public struct Verifier: Sendable {
        /// How far `time` may be from the server's clock, either way.
        public var tolerance: UInt64
        /// Keys whose `kid` forms are remembered (computing them costs a PEM and a SHA-256).
        private let keyIDs = KeyIDCache()

        public init(tolerance: UInt64 = AsymmetricJWT.defaultTolerance) {
            self.tolerance = tolerance
        }

        /// The token of an `Authorization` value `JWT <token>` (scheme case-insensitive), or
        /// nil for another scheme.
        public static func token(inAuthorization value: Substring) -> Substring? {
            guard let space = value.firstIndex(of: " "), value[..<space].utf8.count == 3,
                  value[..<space].lowercased() == "jwt" else { return nil }
            return value[value.index(after: space)...].drop(while: { $0 == " " })
        }

        /// Verifies `token` at `now`: parses it, finds the claimed user's keys in `keys`, checks
        /// the signature (the key the `kid` names, or up to ``AsymmetricJWT/maximumKeysTried``
        /// keys that fit `alg`; then the key of that `kid` in the user's trusted JWKS, through
        /// `jwks`), the time window, and records (user, time, nonce) in `nonces`.
        ///
        /// - Throws: ``JWTError`` for a malformed token (a 400); `AuthCoreError` for a failing
        ///   key store (`.keyProvider`) or replay store (`.nonceStore`): a 503.
        public func verify(token: String, now: UInt64, keys: any KeyProvider, nonces: any NonceStore, jwks: JWKSKeyLookup? = nil) async throws -> AuthenticationOutcome<AuthenticatedIdentity> {
            try await self.verify(token: token[...], now: now, keys: keys, nonces: nonces, jwks: jwks)
        }

        /// Finds the key a `kid` names in the JWKS a user trusts (nil: none, or no such kid).
        public typealias JWKSKeyLookup = @Sendable (_ username: String, _ kid: String) async throws -> SSHPublicKey?

        /// Verifies `token` (see ``verify(token:now:keys:nonces:)-(String,_,_,_)``).
        public func verify(token: Substring, now: UInt64, keys: any KeyProvider, nonces: any NonceStore, jwks: JWKSKeyLookup? = nil) async throws -> AuthenticationOutcome<AuthenticatedIdentity> {
            let token = try UnverifiedToken(token)
            let username = token.username
            if token.time > now.addingSaturated(self.tolerance) { return .failure(AuthenticationFailure(reason: .notYetValid, username: username)) }
            if token.time < now.subtractingSaturated(self.tolerance) { return .failure(AuthenticationFailure(reason: .expired, username: username)) }
            if let expiresAt = token.expiresAt, expiresAt <= Int64(clamping: now) { return .failure(AuthenticationFailure(reason: .expired, username: username)) }
            if let notBefore = token.notBefore, notBefore > Int64(clamping: now) { return .failure(AuthenticationFailure(reason: .notYetValid, username: username)) }
            if let issuedAt = token.issuedAt, issuedAt > Int64(clamping: now.addingSaturated(self.tolerance)) { return .failure(AuthenticationFailure(reason: .notYetValid, username: username)) }

            let lookup: KeyLookup
            do { lookup = try await keys.keys(for: username) } catch {
                throw AuthCoreError(.keyProvider, "the key store failed: \(error)")
            }
            let userKeys: [UserKey]
            switch lookup {
            case .noSuchUser:
                // The same work as a wrong signature, so that timing does not tell users apart.
                _ = Decoys.key(for: token.algorithm.signatureAlgorithm)?.isValidRawSignature(token.signature, for: token.signingInput, algorithm: token.algorithm.signatureAlgorithm)
                return .failure(AuthenticationFailure(reason: .unknownUser, username: username))
            case .refused:
                // A user without keys of their own may still trust a JWKS.
                guard jwks != nil, token.keyID != nil else { return .failure(AuthenticationFailure(reason: .refused, username: username)) }
                userKeys = []
            case .keys(let found):
                userKeys = found
            }
            let algorithm = token.algorithm.signatureAlgorithm
            var candidates = Array(userKeys.lazy.filter { !$0.isCertificateAuthority && $0.key.type == algorithm.keyType }.prefix(AsymmetricJWT.maximumKeysTried))
            if candidates.count > 1, let kid = token.keyID, let named = candidates.first(where: { self.keyIDs.matches(kid, $0.key) }) {
                candidates = [named]
            }
            var verified = candidates.first(where: { $0.key.isValidRawSignature(token.signature, for: token.signingInput, algorithm: algorithm) })
            if verified == nil, let jwks, let kid = token.keyID {
                let key: SSHPublicKey?
                do { key = try await jwks(username, kid) } catch {
                    throw AuthCoreError(.keyProvider, "the JWKS lookup failed: \(error)")
                }
                if let key, key.type == algorithm.keyType, key.isValidRawSignature(token.signature, for: token.signingInput, algorithm: algorithm) {
                    verified = UserKey(key: key)
                }
            }
            guard let used = verified else {
                return .failure(AuthenticationFailure(reason: .badSignature, username: username))
            }
            if let expiresAt = used.expiresAt, expiresAt <= now {
                return .failure(AuthenticationFailure(reason: .keyExpired, username: username))
            }
            // asymmetric_jwt_auth: a nonce is unique per (username, time).
            let record = "jwt:\(username.utf8.count):\(username):\(token.time):\(token.nonce)"
            guard try await nonces.insertIfAbsent(record, expiresAt: token.time.addingSaturated(self.tolerance + 1), now: now) else {
                return .failure(AuthenticationFailure(reason: .replayed, username: username))
            }
            keys.keyUsed(used.key, by: username, at: now)
            return .success(AuthenticatedIdentity(username: username, key: used.key, scheme: .jwt))
        }
    }
}

/// The `kid` forms a key answers to: asymmetric_jwt_auth's hex SHA-256 of the SPKI PEM, the
/// RFC 7638 thumbprint and the `SHA256:` fingerprint. Bounded; cleared when full.
final class KeyIDCache: Sendable {
    static let capacity = 4096
    private let ids = Mutex<[SSHPublicKey: Set<String>]>([:])

    func matches(_ kid: String, _ key: SSHPublicKey) -> Bool {
        if let known = self.ids.withLock({ $0[key] }) { return known.contains(kid) }
        var forms: Set<String> = [key.sha256Fingerprint]
        if let id = key.asymmetricJWTKeyID { forms.insert(id) }
        if let thumbprint = try? key.jwkThumbprint { forms.insert(thumbprint) }
        self.ids.withLock { ids in
            if ids.count >= Self.capacity { ids.removeAll(keepingCapacity: true) }
            ids[key] = forms
        }
        return forms.contains(kid)
    }
}

/// Fixed keys checked for unknown users, so that they cost what a wrong signature costs.
enum Decoys {
    static let ed25519 = SSHPrivateKey(Curve25519.Signing.PrivateKey(), comment: "").publicKey
    static let p256 = SSHPrivateKey(P256.Signing.PrivateKey(), comment: "").publicKey
    static let p384 = SSHPrivateKey(P384.Signing.PrivateKey(), comment: "").publicKey
    static let rsa: SSHPublicKey? = try? SSHPrivateKey(generating: .rsa, rsaBits: 2048).publicKey

    static func key(for algorithm: RawSignatureAlgorithm) -> SSHPublicKey? {
        switch algorithm.keyType {
        case .ed25519: self.ed25519
        case .ecdsaP256: self.p256
        case .ecdsaP384: self.p384
        default: self.rsa
        }
    }
}
