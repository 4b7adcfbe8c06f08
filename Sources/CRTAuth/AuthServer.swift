import AuthCore
import Crypto
import Foundation
import SSHKeys
#if canImport(Glibc)
import Glibc
#endif

/// A crtauth server: challenges, tokens, validation. Pure — the clock (`now`), randomness and
/// key lookup are passed in — so one value can serve any number of concurrent requests and any
/// number of instances sharing the secrets form one cluster.
public struct AuthServer: Sendable {
    /// Seconds a challenge and token start before "now" (clock skew between servers).
    public static let clockFudge: UInt64 = 2
    /// Seconds a challenge stays valid.
    public static let responseTimeout: UInt64 = 20
    /// Default token lifetime in seconds.
    public static let defaultTokenLifetime: UInt64 = 60
    /// Longest token span accepted (`valid_to − valid_from`).
    public static let maximumTokenLifetime: UInt64 = 600

    public struct Configuration: Sendable {
        /// The name clients connect to; checked in challenges. `[A-Za-z0-9.-]`, ≤ 255.
        public var serverName: String
        /// HMAC secrets, newest first: the first signs, all verify (rotation).
        public var secrets: [SymmetricKey]
        /// Which token format to issue: `.v0` shares tokens with Python servers, `.v1` with Java.
        public var tokenFormat: CRTAuthVersion
        /// Seconds a token lives (≤ 598, so that with the 2 s fudge it stays ≤ 600).
        public var tokenLifetime: UInt64
        /// The oldest protocol version accepted for handshakes.
        public var lowestSupportedVersion: CRTAuthVersion

        public init(serverName: String, secrets: [SymmetricKey], tokenFormat: CRTAuthVersion = .v1, tokenLifetime: UInt64 = AuthServer.defaultTokenLifetime, lowestSupportedVersion: CRTAuthVersion = .v0) {
            self.serverName = serverName
            self.secrets = secrets
            self.tokenFormat = tokenFormat
            self.tokenLifetime = tokenLifetime
            self.lowestSupportedVersion = lowestSupportedVersion
        }
    }

    /// Everything the server holds, in one object: copying an `AuthServer` (as every call on it
    /// may) then costs one reference count, not one per field.
    private final class State: Sendable {
        let configuration: Configuration
        let keyProvider: any KeyProvider
        let random: @Sendable (Int) -> [UInt8]
        let prepared: PreparedSecrets
        let serverNameBytes: [UInt8]

        init(configuration: Configuration, keyProvider: any KeyProvider, random: @escaping @Sendable (Int) -> [UInt8]) {
            self.configuration = configuration
            self.keyProvider = keyProvider
            self.random = random
            self.prepared = PreparedSecrets(configuration.secrets)
            self.serverNameBytes = Array(configuration.serverName.utf8)
        }
    }

    private let state: State
    public var configuration: Configuration { self.state.configuration }
    public var keyProvider: any KeyProvider { self.state.keyProvider }
    private var prepared: PreparedSecrets { self.state.prepared }

    /// - Parameter random: returns N random bytes; defaults to the system CSPRNG.
    public init(configuration: Configuration, keyProvider: any KeyProvider, random: (@Sendable (Int) -> [UInt8])? = nil) throws {
        let name = configuration.serverName
        guard !name.isEmpty, name.utf8.count <= CRTAuthLimits.maximumServerNameLength,
              name.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x2E || $0 == 0x2D }) else {
            throw CRTAuthError(.invalidConfiguration, "the server name must be 1–255 characters of A–Z, a–z, 0–9, '.' and '-'")
        }
        guard !configuration.secrets.isEmpty, configuration.secrets.allSatisfy({ $0.bitCount >= 8 }) else {
            throw CRTAuthError(.invalidConfiguration, "at least one non-empty secret is needed")
        }
        guard configuration.tokenFormat == .v0 || configuration.tokenFormat == .v1 else {
            throw CRTAuthError(.invalidConfiguration, "tokens are issued in format v0 (Python) or v1 (Java)")
        }
        guard configuration.tokenLifetime >= 1, configuration.tokenLifetime + Self.clockFudge <= Self.maximumTokenLifetime else {
            throw CRTAuthError(.invalidConfiguration, "the token lifetime must be 1 to \(Self.maximumTokenLifetime - Self.clockFudge) seconds")
        }
        self.state = State(configuration: configuration, keyProvider: keyProvider, random: random ?? Self.systemRandom)
    }

    /// `count` bytes from the system CSPRNG: on Linux one `getentropy(3)` call per 256 bytes
    /// (the standard library's generator makes a system call per eight bytes: three for a v1
    /// challenge).
    static func systemRandom(_ count: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var filled = 0
        #if canImport(Glibc)
        bytes.withUnsafeMutableBytes { buffer in
            while filled < count {
                let length = min(count - filled, 256)
                guard getentropy(buffer.baseAddress! + filled, length) == 0 else { break }
                filled += length
            }
        }
        #endif
        if filled < count {
            var generator = SystemRandomNumberGenerator()
            for index in filled..<count { bytes[index] = generator.next() }
        }
        return bytes
    }

    private var signingSecret: SymmetricKey { self.configuration.secrets[0] }

    // MARK: Challenge

    /// Makes the challenge for `request` at `now` (Unix seconds). Unknown users get a
    /// well-formed challenge with a fake fingerprint, indistinguishable from a real one.
    /// Returns a failure only when the provider refuses the user.
    public func createChallenge(for request: CRTAuthRequest, now: UInt64) async throws -> AuthenticationOutcome<CRTAuthChallenge> {
        try self.check(request)
        return self.challenge(for: request, found: try await self.lookup(request.username), now: now)
    }

    /// ``createChallenge(for:now:)`` on the calling thread, for a key provider that answers
    /// without waiting (``KeyProvider/keysWithoutWaiting(for:)``); nil when it cannot.
    public func createChallengeWithoutWaiting(for request: CRTAuthRequest, now: UInt64) throws -> AuthenticationOutcome<CRTAuthChallenge>? {
        try self.check(request)
        guard let found = try self.lookupWithoutWaiting(request.username) else { return nil }
        return self.challenge(for: request, found: found, now: now)
    }

    private func check(_ request: CRTAuthRequest) throws {
        guard request.version >= self.configuration.lowestSupportedVersion else {
            throw CRTAuthError(.unsupportedVersion, "protocol \(request.version) is not accepted here (lowest: \(self.configuration.lowestSupportedVersion))")
        }
        guard !request.username.isEmpty, request.username.utf8.count <= CRTAuthLimits.maximumUsernameLength else {
            throw CRTAuthError(.tooLarge, "usernames are 1 to \(CRTAuthLimits.maximumUsernameLength) bytes")
        }
    }

    private func challenge(for request: CRTAuthRequest, found: KeyLookup, now: UInt64) -> AuthenticationOutcome<CRTAuthChallenge> {
        let fingerprint: [UInt8]
        switch found {
        case .noSuchUser:
            fingerprint = self.fakeFingerprint(for: request.username, version: request.version)
        case .refused:
            return .failure(AuthenticationFailure(reason: .refused, username: request.username))
        case .keys(let keys):
            let usable = self.usableKeys(keys, version: request.version, now: now)
            guard !usable.isEmpty else {
                return .failure(AuthenticationFailure(reason: .refused, username: request.username))
            }
            fingerprint = request.version == .v2
                ? usable.prefix(CRTAuthV2.maximumOfferedKeys).flatMap { Array(SHA256.hash(data: $0.key.wireBlob)) }
                : usable[0].key.crtauthFingerprint
        }
        let unique = self.state.random(request.version == .v2 ? CRTAuthV2.uniqueDataLength : CRTAuthLimits.uniqueDataLength)
        return .success(CRTAuthChallenge(
            version: request.version, uniqueData: unique, validFrom: now.subtractingSaturated(Self.clockFudge), validTo: now.addingSaturated(Self.responseTimeout),
            fingerprint: fingerprint, serverName: self.configuration.serverName, username: request.username, secrets: self.prepared
        ))
    }

    /// Python's fake fingerprint for unknown users: HMAC-SHA1(secret, username), first 6 bytes
    /// (v2: a fake SHA-256 fingerprint, HMAC-SHA256 of the username).
    func fakeFingerprint(for username: String, version: CRTAuthVersion) -> [UInt8] {
        if version == .v2 { return Array(HMAC<SHA256>.authenticationCode(for: Array(username.utf8), using: self.signingSecret)) }
        return Array(HMAC<Insecure.SHA1>.authenticationCode(for: Array(username.utf8), using: self.signingSecret).prefix(6))
    }

    /// Keys that can answer a challenge of `version`: RSA only for v0/v1; not expired.
    func usableKeys(_ keys: [UserKey], version: CRTAuthVersion, now: UInt64) -> [UserKey] {
        keys.filter { Self.isUsable($0, version: version, now: now) }
    }

    static func isUsable(_ key: UserKey, version: CRTAuthVersion, now: UInt64) -> Bool {
        if let expiry = key.expiresAt, expiry <= now { return false }
        if version < .v2 { return key.key.type == .rsa && !key.isCertificateAuthority }
        return true
    }

    private func lookup(_ username: String) async throws -> KeyLookup {
        do {
            return try await self.state.keyProvider.keys(for: username)
        } catch {
            throw Self.keyStoreFault(error)
        }
    }

    private func lookupWithoutWaiting(_ username: String) throws -> KeyLookup? {
        do {
            return try self.state.keyProvider.keysWithoutWaiting(for: username)
        } catch {
            throw Self.keyStoreFault(error)
        }
    }

    private static func keyStoreFault(_ error: any Error) -> AuthCoreError {
        error as? AuthCoreError ?? AuthCoreError(.keyProvider, "the key store failed: \(error)")
    }

    // MARK: Token

    /// Checks a response and, when it proves possession of the user's key, issues a token.
    /// Processing order: parse, MAC, server name, time window, key lookup, signature.
    public func createToken(response text: String, now: UInt64) async throws -> AuthenticationOutcome<(token: CRTAuthToken, identity: AuthenticatedIdentity)> {
        let checked: CheckedResponse
        switch try self.check(response: text, now: now) {
        case .failure(let failure): return .failure(failure)
        case .success(let response): checked = response
        }
        return try self.token(for: checked, found: try await self.lookup(checked.challenge.username), now: now)
    }

    /// ``createToken(response:now:)`` on the calling thread, for a key provider that answers
    /// without waiting (``KeyProvider/keysWithoutWaiting(for:)``); nil when it cannot.
    public func createTokenWithoutWaiting(response text: String, now: UInt64) throws -> AuthenticationOutcome<(token: CRTAuthToken, identity: AuthenticatedIdentity)>? {
        let checked: CheckedResponse
        switch try self.check(response: text, now: now) {
        case .failure(let failure): return .failure(failure)
        case .success(let response): checked = response
        }
        guard let found = try self.lookupWithoutWaiting(checked.challenge.username) else { return nil }
        return try self.token(for: checked, found: found, now: now)
    }

    /// A response whose challenge is this server's and still valid: what needs its user's keys.
    private struct CheckedResponse {
        let challenge: CRTAuthChallenge
        let signature: ArraySlice<UInt8>
    }

    /// Everything before the key lookup: parse, MAC, server name, time window.
    private func check(response text: String, now: UInt64) throws -> AuthenticationOutcome<CheckedResponse> {
        let response = try CRTAuthResponse(decoding: text)
        guard response.version >= self.configuration.lowestSupportedVersion else {
            throw CRTAuthError(.unsupportedVersion, "protocol \(response.version) is not accepted here")
        }
        let challenge = try CRTAuthChallenge(slice: response.challengeSlice)
        guard challenge.version == response.version else {
            throw CRTAuthError(.malformed, "a \(response.version) response carries a \(challenge.version) challenge")
        }
        let username = challenge.username
        guard challenge.isAuthentic(self.prepared) else {
            return .failure(AuthenticationFailure(reason: .badMAC, username: username))
        }
        guard challenge.hasServerName(self.state.serverNameBytes) else {
            return .failure(AuthenticationFailure(reason: .wrongServer, username: username))
        }
        if challenge.validFrom > now { return .failure(AuthenticationFailure(reason: .notYetValid, username: username)) }
        if challenge.validTo < now { return .failure(AuthenticationFailure(reason: .expired, username: username)) }
        return .success(CheckedResponse(challenge: challenge, signature: response.signatureSlice))
    }

    /// The signature checked against what the lookup `found`.
    private func token(for checked: CheckedResponse, found: KeyLookup, now: UInt64) throws -> AuthenticationOutcome<(token: CRTAuthToken, identity: AuthenticatedIdentity)> {
        let challenge = checked.challenge, signature = checked.signature, username = challenge.username
        let keys: [UserKey]
        switch found {
        case .refused:
            return .failure(AuthenticationFailure(reason: .refused, username: username))
        case .noSuchUser:
            // Same work and the same answer as a wrong signature.
            if challenge.version == .v2 {
                CRTAuthV2Verifier.decoyVerify(try CRTAuthV2Verifier.parse(signature), challenge: challenge)
            } else {
                _ = Decoys.rsa?.isValidLegacyRSASignature(signature, for: challenge.signedBytes)
            }
            return .failure(AuthenticationFailure(reason: .unknownUser, username: username))
        case .keys(let found):
            keys = found
        }
        if challenge.version == .v2 {
            guard let (signer, registered) = try CRTAuthV2Verifier.verify(signature: signature, challenge: challenge, keys: self.usableKeys(keys, version: .v2, now: now), now: now) else {
                return .failure(AuthenticationFailure(reason: .badSignature, username: username))
            }
            return self.succeed(username, key: signer, registered: registered, scheme: .handshake(challenge.version), now: now)
        }
        guard let key = Self.verifyV1(signature: signature, over: challenge.signedBytes, keys: keys, now: now) else {
            return .failure(AuthenticationFailure(reason: .badSignature, username: username))
        }
        return self.succeed(username, key: key, registered: key, scheme: .handshake(challenge.version), now: now)
    }

    private func succeed(_ username: String, key: SSHPublicKey, registered: SSHPublicKey, scheme: IdentityScheme, now: UInt64) -> AuthenticationOutcome<(token: CRTAuthToken, identity: AuthenticatedIdentity)> {
        self.state.keyProvider.keyUsed(registered, by: username, at: now)
        return .success((self.issueToken(for: username, now: now), AuthenticatedIdentity(username: username, key: key, scheme: scheme)))
    }

    /// v0/v1: raw RSA PKCS#1 v1.5 SHA-1 by the (first matching) usable RSA key.
    static func verifyV1(signature: ArraySlice<UInt8>, over data: ArraySlice<UInt8>, keys: [UserKey], now: UInt64) -> SSHPublicKey? {
        keys.first { Self.isUsable($0, version: .v1, now: now) && $0.key.isValidLegacyRSASignature(signature, for: data) }?.key
    }

    /// Issues a token for `username` in the configured format.
    public func issueToken(for username: String, now: UInt64) -> CRTAuthToken {
        CRTAuthToken(version: self.configuration.tokenFormat, validFrom: now.subtractingSaturated(Self.clockFudge), validTo: now.addingSaturated(self.configuration.tokenLifetime), username: username, secrets: self.prepared)
    }

    // MARK: Validation

    /// Validates a token of either format (v0 `v…`, v1 `01…`), returning the username.
    public func validateToken(_ text: String, now: UInt64) throws -> AuthenticationOutcome<String> {
        guard let token = try self.authenticToken(text) else {
            return .failure(AuthenticationFailure(reason: .badMAC, username: nil))
        }
        return Self.outcome(of: token, now: now)
    }

    /// What a token whose MAC holds says; when it is valid is decided by ``outcome(of:now:)``.
    public struct AuthenticToken: Sendable {
        public let username: String
        let validFrom: UInt64
        let validTo: UInt64
    }

    /// The token in `text` if its MAC is one of these secrets'; nil if it is not. Throws for a
    /// token that cannot be parsed.
    public func authenticToken(_ text: String) throws -> AuthenticToken? {
        // Decoded into scratch space and checked there: checking a token makes no array.
        let (token, authentic) = try withDecodedMessage(text, what: "token") { bytes in
            let token = try CRTAuthToken.parse(bytes)
            return (token, bytes.withBytes(at: token.macRange) { mac in
                bytes.withBytes(at: token.macInput) { self.prepared.isValid(mac, over: $0, version: token.version) }
            })
        }
        return authentic ? AuthenticToken(username: token.username, validFrom: token.validFrom, validTo: token.validTo) : nil
    }

    /// Whether an authentic token holds at `now`: its span no longer than tokens may live, `now` within it.
    public static func outcome(of token: AuthenticToken, now: UInt64) -> AuthenticationOutcome<String> {
        if token.validTo < token.validFrom || token.validTo - token.validFrom > Self.maximumTokenLifetime {
            return .failure(AuthenticationFailure(reason: .lifetimeTooLong, username: token.username))
        }
        if token.validFrom > now { return .failure(AuthenticationFailure(reason: .notYetValid, username: token.username)) }
        if token.validTo < now { return .failure(AuthenticationFailure(reason: .expired, username: token.username)) }
        return .success(token.username)
    }

    /// The secrets tokens are checked with: a new object when they are rotated.
    var secrets: PreparedSecrets { self.prepared }
}
