import AuthCore
import Crypto
import Foundation
import RawStructuredFieldValues
import SSHKeys

/// RFC 9421 HTTP Message Signatures with SSH keys: `Signature-Input` / `Signature`, `keyid` =
/// the key's `SHA256:` fingerprint, both sides. Requests only (no `@status`, no `req`
/// parameter); bodies are covered through `Content-Digest` (RFC 9530).
public enum HTTPMessageSignatures {
    /// Longest `Signature-Input`, `Signature` or `Content-Digest` value read.
    public static let maximumFieldLength = 8 * 1024
    /// Most components one signature may cover.
    public static let maximumComponents = 32

    /// The signature algorithms of RFC 9421 §3.3 that SSH keys can make (not HMAC).
    public enum Algorithm: String, Sendable, CaseIterable {
        case ed25519 = "ed25519"
        case ecdsaP256SHA256 = "ecdsa-p256-sha256"
        case ecdsaP384SHA384 = "ecdsa-p384-sha384"
        case rsaPSSSHA512 = "rsa-pss-sha512"
        case rsaV15SHA256 = "rsa-v1_5-sha256"

        public var signatureAlgorithm: RawSignatureAlgorithm {
            switch self {
            case .ed25519: .ed25519
            case .ecdsaP256SHA256: .ecdsaP256SHA256
            case .ecdsaP384SHA384: .ecdsaP384SHA384
            case .rsaPSSSHA512: .rsaPSSSHA512
            case .rsaV15SHA256: .rsaPKCS1SHA256
            }
        }

        /// What a signer uses for `keyType` (RSA: PKCS#1 v1.5 with SHA-256, which ssh-agent can make).
        public static func preferred(for keyType: SSHKeyType) -> Algorithm? {
            switch keyType {
            case .ed25519: .ed25519
            case .ecdsaP256: .ecdsaP256SHA256
            case .ecdsaP384: .ecdsaP384SHA384
            case .rsa: .rsaV15SHA256
            default: nil
            }
        }
    }

    /// The parts of a request that components are taken from: the framework-neutral request
    /// every authenticator reads (its body is not used; bodies are passed on their own).
    public typealias Message = RequestView

    /// What a verifier insists on.
    public struct Policy: Sendable {
        /// How old `created` may be.
        public var maximumAge: UInt64
        /// How far in the future `created` may be (clock skew).
        public var clockSkew: UInt64
        /// Require a `nonce` parameter (replays are refused either way: without a nonce, the
        /// signature itself is remembered).
        public var requiresNonce: Bool
        /// A `tag` the signature must carry, if any.
        public var tag: String?

        public init(maximumAge: UInt64 = 300, clockSkew: UInt64 = 30, requiresNonce: Bool = false, tag: String? = nil) {
            self.maximumAge = maximumAge
            self.clockSkew = clockSkew
            self.requiresNonce = requiresNonce
            self.tag = tag
        }
    }

    /// What a server asks for in `Accept-Signature` on a 401.
    public static let acceptSignature = #"sig1=("@method" "@target-uri");created;nonce"#

    // MARK: Signature base

    /// The signature base (RFC 9421 §2.5) for `components` of `message` with the serialized
    /// `@signature-params` value `parameters`.
    public static func signatureBase(message: Message, components: [String], parameters: String) throws -> [UInt8] {
        var base = ""
        for component in components {
            guard let value = message.signatureComponent(component) else {
                throw SignatureSchemeError(.malformed, "the request has no \(component.prefix(64)) to sign or verify")
            }
            guard !value.utf8.contains(where: { $0 == 0x0A || $0 == 0x0D }) else {
                throw SignatureSchemeError(.malformed, "component \(component.prefix(64)) contains a line break")
            }
            base += "\"\(component)\": \(value)\n"
        }
        base += "\"@signature-params\": \(parameters)"
        return Array(base.utf8)
    }

    /// The serialized inner list of `components` with parameters, in the order given.
    static func serializeParameters(components: [String], parameters: [(String, RFC9651BareItem)]) throws -> String {
        var list = BareInnerList()
        for component in components { list.append(Item(bareItem: RFC9651BareItem.string(component), parameters: OrderedMap<String, RFC9651BareItem>())) }
        var map = OrderedMap<String, RFC9651BareItem>()
        for (name, value) in parameters { map[name] = value }
        var serializer = StructuredFieldValueSerializer()
        let bytes = try serializer.writeListFieldValue([.innerList(InnerList(bareInnerList: list, parameters: map))])
        return String(decoding: bytes, as: UTF8.self)
    }

    // MARK: Content-Digest

    /// `Content-Digest: sha-256=:…:` for `body` (RFC 9530).
    public static func contentDigest(of body: some Collection<UInt8>) -> String {
        "sha-256=:" + Data(SHA256.hash(data: Array(body))).base64EncodedString() + ":"
    }

    /// Checks a `Content-Digest` value against `body`: every sha-256 / sha-512 member must match
    /// and at least one must be present (other algorithms are ignored).
    static func checkContentDigest(_ value: String, body: some Collection<UInt8>) throws -> Bool {
        guard value.utf8.count <= maximumFieldLength else { throw SignatureSchemeError(.tooLarge, "Content-Digest is longer than \(maximumFieldLength) bytes") }
        var checked = false
        for (name, member) in try SignatureFieldParser.parseDictionary(value, field: "Content-Digest") {
            guard name == "sha-256" || name == "sha-512" else { continue }
            guard case .item(let item) = member, case .bytes(let encoded) = item.value, let digest = Data(base64Encoded: encoded) else {
                throw SignatureSchemeError(.malformed, "Content-Digest's \(name) must be a byte sequence")
            }
            let expected = name == "sha-256" ? Data(SHA256.hash(data: Array(body))) : Data(SHA512.hash(data: Array(body)))
            guard digest == expected else { return false }
            checked = true
        }
        guard checked else { throw SignatureSchemeError(.unsupported, "Content-Digest has neither sha-256 nor sha-512") }
        return true
    }

    // MARK: Signing

    /// Signs `message` (adding `Content-Digest` for a non-empty `body` and covering it) and
    /// returns the fields to add: `Content-Digest` (with a body), `Signature-Input`, `Signature`.
    ///
    /// Covers `@method`, `@target-uri` (plus `content-digest` with a body, and `extraFields`),
    /// with `created`, a random `nonce`, `keyid` = the key's `SHA256:` fingerprint and `alg`.
    public static func sign(
        _ message: Message, body: some Collection<UInt8>, signer: any Signer, created: UInt64,
        nonce: String? = HTTPMessageSignatures.makeNonce(), extraFields: [String] = [], label: String = "sig1", tag: String? = nil
    ) async throws -> [(name: String, value: String)] {
        let key = signer.publicKey
        guard let algorithm = Algorithm.preferred(for: key.type) else {
            throw SignatureSchemeError(.invalidConfiguration, "\(key.type.name) keys cannot make HTTP message signatures; use an Ed25519, ECDSA P-256/P-384 or RSA key")
        }
        var message = message
        var added: [(name: String, value: String)] = []
        var components = ["@method", "@target-uri"] + extraFields.map { $0.lowercased() }
        if !body.isEmpty {
            let digest = self.contentDigest(of: body)
            message.fields = FieldList(message.fields.all + [("content-digest", digest)])
            added.append(("Content-Digest", digest))
            components.append("content-digest")
        }
        var parameters: [(String, RFC9651BareItem)] = [("created", .integer(Int64(clamping: created)))]
        if let nonce { parameters.append(("nonce", .string(nonce))) }
        parameters.append(("keyid", .string(key.sha256Fingerprint)))
        parameters.append(("alg", .string(algorithm.rawValue)))
        if let tag { parameters.append(("tag", .string(tag))) }
        let serialized = try self.serializeParameters(components: components, parameters: parameters)
        let base = try self.signatureBase(message: message, components: components, parameters: serialized)
        let signature = try await signer.signRaw(base, algorithm: algorithm.signatureAlgorithm)
        added.append(("Signature-Input", "\(label)=\(serialized)"))
        added.append(("Signature", "\(label)=:\(Data(signature).base64EncodedString()):"))
        return added
    }

    /// 16 random bytes, base64url: a fresh `nonce` parameter.
    public static func makeNonce() -> String {
        var generator = SystemRandomNumberGenerator()
        return Base64URL.encode((0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }

    // MARK: Verifying

    /// Verifies the first signature of `Signature-Input` (its label must appear once in each
    /// field) over `message` and `body`.
    ///
    /// Requires: `@method`; `@target-uri`, or `@authority` + `@path` (+ `@query` when the target
    /// has one); `content-digest`, checked against the body, when there is a body; `created`
    /// within the policy's window; `expires`, if present, in the future; `keyid` naming a key
    /// `keys` knows; `alg`, if present, fitting that key. The nonce (or, without one, the
    /// signature) goes through `nonces`, so a second use is refused.
    ///
    /// - Throws: ``SignatureSchemeError`` for malformed fields (a 400); `AuthCoreError` for a failing key or
    ///   nonce store (a 503).
    public static func verify(
        _ message: Message, body: some Collection<UInt8>, signatureInput: String?, signature: String?,
        now: UInt64, keys: any KeyOwnerLookup, nonces: any NonceStore, policy: Policy = .init()
    ) async throws -> AuthenticationOutcome<AuthenticatedIdentity> {
        guard let signatureInput, let signature else { throw SignatureSchemeError(.malformed, "Signature-Input and Signature are both required") }
        guard signatureInput.utf8.count <= maximumFieldLength, signature.utf8.count <= maximumFieldLength else {
            throw SignatureSchemeError(.tooLarge, "Signature-Input or Signature is longer than \(maximumFieldLength) bytes")
        }
        let inputs = try SignatureFieldParser.parseDictionary(signatureInput, field: "Signature-Input")
        let signatures = try SignatureFieldParser.parseDictionary(signature, field: "Signature")
        guard let (label, input) = inputs.first else { throw SignatureSchemeError(.malformed, "Signature-Input has no signature") }
        guard case .innerList(let list, let listParameters) = input else { throw SignatureSchemeError(.malformed, "Signature-Input's \(label.prefix(32)) is not an inner list") }
        guard case .item(let signatureItem)? = signatures.first(where: { $0.name == label })?.member,
              case .bytes(let encodedSignature) = signatureItem.value,
              let signatureBytes = Data(base64Encoded: encodedSignature) else {
            throw SignatureSchemeError(.malformed, "Signature has no byte sequence labelled \(label.prefix(32))")
        }

        var components: [String] = []
        for item in list {
            guard case .string(let name) = item.value else { throw SignatureSchemeError(.malformed, "a covered component is not a string") }
            guard item.parameters.isEmpty else { throw SignatureSchemeError(.unsupported, "component parameters (sf, key, bs, req, tr, name) are not supported") }
            guard !components.contains(name) else { throw SignatureSchemeError(.malformed, "component \(name.prefix(64)) is covered twice") }
            guard name == name.lowercased() else { throw SignatureSchemeError(.malformed, "component names are lower case") }
            components.append(name)
        }
        guard components.count <= maximumComponents else { throw SignatureSchemeError(.tooLarge, "more than \(maximumComponents) covered components") }

        var created: Int64?, expires: Int64?, nonce: String?, keyID: String?, algorithmName: String?, tag: String?
        for (name, value) in listParameters {
            switch (name, value) {
            case ("created", .integer(let v)): created = v
            case ("expires", .integer(let v)): expires = v
            case ("nonce", .string(let v)): nonce = v
            case ("keyid", .string(let v)): keyID = v
            case ("alg", .string(let v)): algorithmName = v
            case ("tag", .string(let v)): tag = v
            case ("created", _), ("expires", _), ("nonce", _), ("keyid", _), ("alg", _), ("tag", _):
                throw SignatureSchemeError(.malformed, "signature parameter \(name) has the wrong type")
            default: continue
            }
        }

        // The policy: what must be covered and present.
        guard components.contains("@method") else { return .failure(Self.refusal(.refused, "@method is not covered")) }
        let coversTarget = components.contains("@target-uri")
            || (components.contains("@authority") && components.contains("@path") && (message.query == nil || components.contains("@query")))
        guard coversTarget else { return .failure(Self.refusal(.refused, "the target is not covered")) }
        let hasBody = !body.isEmpty || message.field("content-digest") != nil
        if hasBody {
            guard components.contains("content-digest"), let digest = message.field("content-digest") else {
                return .failure(Self.refusal(.refused, "the body is not covered by content-digest"))
            }
            guard try self.checkContentDigest(digest, body: body) else { return .failure(Self.refusal(.badSignature, "content-digest does not match the body")) }
        }
        guard let created, created >= 0 else { throw SignatureSchemeError(.malformed, "the signature has no created parameter") }
        guard let keyID else { throw SignatureSchemeError(.malformed, "the signature has no keyid parameter") }
        if policy.requiresNonce && nonce == nil { return .failure(Self.refusal(.refused, "no nonce")) }
        if let required = policy.tag, tag != required { return .failure(Self.refusal(.refused, "wrong tag")) }
        if let nonce, nonce.isEmpty || nonce.utf8.count > 256 { throw SignatureSchemeError(.malformed, "the nonce must be 1 to 256 bytes") }

        let createdAt = UInt64(created)
        if createdAt > now.addingSaturated(policy.clockSkew) { return .failure(AuthenticationFailure(reason: .notYetValid, username: nil)) }
        if createdAt < now.subtractingSaturated(policy.maximumAge) { return .failure(AuthenticationFailure(reason: .expired, username: nil)) }
        if let expires, expires <= Int64(clamping: now) { return .failure(AuthenticationFailure(reason: .expired, username: nil)) }

        let found: (username: String, key: SSHPublicKey)?
        do { found = try await keys.owner(ofFingerprint: keyID, now: now) } catch {
            throw AuthCoreError(.keyProvider, "the key store failed: \(error)")
        }
        guard let (username, key) = found else { return .failure(AuthenticationFailure(reason: .unknownUser, username: nil)) }

        let candidates: [Algorithm]
        if let algorithmName {
            guard let algorithm = Algorithm(rawValue: algorithmName) else { throw SignatureSchemeError(.unsupported, "signature algorithm \(algorithmName.prefix(32)) is not accepted") }
            candidates = [algorithm]
        } else {
            candidates = Algorithm.allCases.filter { $0.signatureAlgorithm.keyType == key.type }
        }
        let base = try self.signatureBase(message: message, components: components, parameters: SignatureFieldParser.serialize(innerList: list, parameters: listParameters))
        guard candidates.contains(where: { key.isValidRawSignature(signatureBytes, for: base, algorithm: $0.signatureAlgorithm) }) else {
            return .failure(AuthenticationFailure(reason: .badSignature, username: username))
        }
        let record = "rfc9421:\(keyID.utf8.count):\(keyID):" + (nonce ?? "sig:" + Data(SHA256.hash(data: signatureBytes)).base64EncodedString())
        guard try await nonces.insertIfAbsent(record, expiresAt: createdAt.addingSaturated(policy.maximumAge + 1), now: now) else {
            return .failure(AuthenticationFailure(reason: .replayed, username: username))
        }
        keys.keyUsed(key, by: username, at: now)
        return .success(AuthenticatedIdentity(username: username, key: key, scheme: .signature))
    }

    private static func refusal(_ reason: AuthenticationFailure.Reason, _ detail: String) -> AuthenticationFailure {
        AuthenticationFailure(reason: reason, username: nil, detail: detail)
    }

}

extension RequestView {
    /// A request for `url` (scheme, authority, path and query taken from it), as a signer builds it.
    public init?(method: String, url: URL, fields: [(name: String, value: String)]) {
        guard let components = URLComponents(url: url, resolvingAgainstBaseURL: false), let scheme = components.scheme, let host = components.percentEncodedHost else { return nil }
        let defaultPort = scheme.lowercased() == "https" ? 443 : 80
        self.init(
            method: method, scheme: scheme, authority: components.port.map { $0 == defaultPort ? host : "\(host):\($0)" } ?? host,
            path: components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath, query: components.percentEncodedQuery, fields: fields)
    }

    /// The value of a covered component (RFC 9421 §2), or nil when the request lacks it.
    func signatureComponent(_ component: String) -> String? {
        switch component {
        case "@method": self.method
        case "@target-uri": "\(self.scheme.lowercased())://\(self.authority.lowercased())\(self.path)" + (self.query.map { "?" + $0 } ?? "")
        case "@authority": self.authority.lowercased()
        case "@scheme": self.scheme.lowercased()
        case "@request-target": self.path + (self.query.map { "?" + $0 } ?? "")
        case "@path": self.path.isEmpty ? "/" : self.path
        case "@query": "?" + (self.query ?? "")
        default: component.hasPrefix("@") ? nil : self.field(component)
        }
    }
}
