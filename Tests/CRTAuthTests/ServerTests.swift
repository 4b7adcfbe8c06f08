import AuthCore
import Crypto
import Foundation
@testable import CRTAuth
import SSHKeys
import Testing
import TestSupport

/// A server at a fixed name with a fixed secret, for flow tests.
func makeServer(_ provider: any KeyProvider, secrets: [String] = ["s3cret"], tokenFormat: CRTAuthVersion = .v1, lowest: CRTAuthVersion = .v0, lifetime: UInt64 = 60) throws -> AuthServer {
    try AuthServer(configuration: .init(serverName: "api.example.com", secrets: secrets.map { SymmetricKey(data: Array($0.utf8)) }, tokenFormat: tokenFormat, tokenLifetime: lifetime, lowestSupportedVersion: lowest), keyProvider: provider)
}

/// Runs a whole handshake; returns the outcome of createToken.
func handshake(_ server: AuthServer, user: String, version: CRTAuthVersion, signers: [any Signer], now: UInt64 = 1_800_000_000, answerAt: UInt64? = nil) async throws -> AuthenticationOutcome<(token: CRTAuthToken, identity: AuthenticatedIdentity)> {
    guard case .success(let challenge) = try await server.createChallenge(for: CRTAuthRequest(username: user, version: version), now: now) else {
        throw CRTAuthError(.malformed, "no challenge")
    }
    let response = try await CRTAuthClientResponder.respond(to: challenge.encoded, serverName: "api.example.com", signers: signers)
    return try await server.createToken(response: response.encoded, now: answerAt ?? now + 1)
}

extension AuthenticationOutcome {
    var failureReason: AuthenticationFailure.Reason? {
        if case .failure(let failure) = self { return failure.reason }
        return nil
    }
    var value: Success? {
        if case .success(let value) = self { return value }
        return nil
    }
}

@Suite("AuthServer and client responder")
struct ServerTests {
    static let rsa = try! SSHPrivateKey(generating: .rsa, rsaBits: 2048)
    static let ed = try! SSHPrivateKey(generating: .ed25519)
    static let p256 = try! SSHPrivateKey(generating: .ecdsaP256)

    @Test("v2 works for every software key type, with RSA signing SHA-2", arguments: [SSHKeyType.ed25519, .ecdsaP256, .ecdsaP384, .ecdsaP521, .rsa])
    func v2KeyTypes(_ type: SSHKeyType) async throws {
        let key = try SSHPrivateKey(generating: type, rsaBits: 2048)
        let other = Self.ed
        let server = try makeServer(InMemoryKeyProvider(keys: ["alice": [other.publicKey, key.publicKey]]))
        let outcome = try await handshake(server, user: "alice", version: .v2, signers: [key])
        let identity = try #require(outcome.value?.identity)
        #expect(identity.username == "alice" && identity.keyFingerprint == key.publicKey.sha256Fingerprint && identity.scheme == .handshake(.v2))
        #expect(try server.validateToken(outcome.value!.token.encoded, now: 1_800_000_010).value == "alice")
    }

    @Test("v2 with a user certificate from a trusted CA; principals, validity and CA are checked")
    func v2Certificates() async throws {
        let ca = Self.ed
        let user = Self.p256
        func certificate(principals: [String], validBefore: UInt64 = .max, signer: SSHPrivateKey = ca) throws -> SSHCertificate {
            try makeCertificate(for: user.publicKey, ca: signer, principals: principals, validBefore: validBefore)
        }
        let provider = InMemoryKeyProvider(users: ["alice": [UserKey(key: ca.publicKey, isCertificateAuthority: true)]])
        let server = try makeServer(provider)
        let good = try CertifiedSigner(privateKey: user, certificate: certificate(principals: ["alice"]))
        let identity = try #require(try await handshake(server, user: "alice", version: .v2, signers: [good]).value?.identity)
        #expect(identity.keyFingerprint == user.publicKey.sha256Fingerprint)

        let wrongPrincipal = try CertifiedSigner(privateKey: user, certificate: certificate(principals: ["bob"]))
        await #expect(throws: CRTAuthError(.noMatchingKey, "")) { try await handshake(server, user: "alice", version: .v2, signers: [wrongPrincipal]) }
        let expired = try CertifiedSigner(privateKey: user, certificate: certificate(principals: ["alice"], validBefore: 1_700_000_000))
        #expect(try await handshake(server, user: "alice", version: .v2, signers: [expired]).failureReason == .badSignature)
        let otherCA = try CertifiedSigner(privateKey: user, certificate: certificate(principals: ["alice"], signer: Self.p256))
        await #expect(throws: CRTAuthError(.noMatchingKey, "")) { try await handshake(server, user: "alice", version: .v2, signers: [otherCA]) }
        // principals= on the CA line replaces the username.
        let mapped = try makeServer(InMemoryKeyProvider(users: ["alice": [UserKey(key: ca.publicKey, isCertificateAuthority: true, principals: ["ops"])]]))
        let ops = try CertifiedSigner(privateKey: user, certificate: certificate(principals: ["ops", "alice"]))
        #expect(try await handshake(mapped, user: "alice", version: .v2, signers: [ops]).value != nil)
    }

    @Test("a v2 signature is an SSHSIG bound to crtauth and this server: it is no git or file signature")
    func v2DomainSeparation() async throws {
        let server = try makeServer(InMemoryKeyProvider(keys: ["alice": [Self.ed.publicKey]]))
        guard case .success(let challenge) = try await server.createChallenge(for: CRTAuthRequest(username: "alice", version: .v2), now: 1_800_000_000) else { return }
        let response = try await CRTAuthClientResponder.respond(to: challenge.encoded, serverName: "api.example.com", signers: [Self.ed])
        let signature = try SSHSig(wireBlob: response.signature)
        #expect(signature.namespace == "crtauth-v2@api.example.com")
        #expect(throws: SSHKeyError(.namespaceMismatch, "")) { try signature.verify(challenge.bytes, namespace: "git") }
        // A signature over the same bytes in another namespace is refused by the server.
        let foreign = try await SSHSig.sign(challenge.bytes, namespace: "file", with: Self.ed)
        let forged = CRTAuthResponse(version: .v2, challengeBytes: challenge.bytes, signature: foreign.wireBlob)
        #expect(try await server.createToken(response: forged.encoded, now: 1_800_000_001).failureReason == .badSignature)
    }

    @Test("v0/v1 refuse non-RSA keys; the error names the expected fingerprint and both causes")
    func v1RSAOnly() async throws {
        let server = try makeServer(InMemoryKeyProvider(keys: ["alice": [Self.ed.publicKey]]))
        #expect(try await server.createChallenge(for: CRTAuthRequest(username: "alice", version: .v1), now: 1).failureReason == .refused)
        let rsaServer = try makeServer(InMemoryKeyProvider(keys: ["alice": [Self.rsa.publicKey]]))
        let error = await #expect(throws: CRTAuthError.self) { try await handshake(rsaServer, user: "alice", version: .v1, signers: [Self.ed]) }
        #expect(error?.code == .noMatchingKey)
        let expected = Self.rsa.publicKey.crtauthFingerprint.map { String(format: "%02x", $0) }.joined()
        #expect(error?.message.contains(expected) == true)
        #expect(error?.message.contains("ssh-add") == true && error?.message.contains("registered") == true)
    }

    @Test("the client refuses a challenge for another server name")
    func serverNameCheck() async throws {
        let server = try makeServer(InMemoryKeyProvider(keys: ["alice": [Self.rsa.publicKey]]))
        guard case .success(let challenge) = try await server.createChallenge(for: CRTAuthRequest(username: "alice"), now: 1) else { return }
        await #expect(throws: CRTAuthError(.serverNameMismatch, "")) {
            try await CRTAuthClientResponder.respond(to: challenge.encoded, serverName: "evil.example.com", signers: [Self.rsa])
        }
        // Case-insensitive, as host names are.
        _ = try await CRTAuthClientResponder.respond(to: challenge.encoded, serverName: "API.example.com", signers: [Self.rsa])
    }

    @Test("time windows: challenge too old and too new; token expiry; lifetime over 600")
    func times() async throws {
        let server = try makeServer(InMemoryKeyProvider(keys: ["alice": [Self.rsa.publicKey]]))
        #expect(try await handshake(server, user: "alice", version: .v1, signers: [Self.rsa], now: 1000, answerAt: 1021).failureReason == .expired)
        #expect(try await handshake(server, user: "alice", version: .v1, signers: [Self.rsa], now: 1000, answerAt: 1020).value != nil)
        #expect(try await handshake(server, user: "alice", version: .v1, signers: [Self.rsa], now: 1000, answerAt: 997).failureReason == .notYetValid)
        let token = server.issueToken(for: "alice", now: 5000)
        #expect(try server.validateToken(token.encoded, now: 4998).value == "alice")
        #expect(try server.validateToken(token.encoded, now: 4997).failureReason == .notYetValid)
        #expect(try server.validateToken(token.encoded, now: 5060).value == "alice")
        #expect(try server.validateToken(token.encoded, now: 5061).failureReason == .expired)
        let long = CRTAuthToken(version: .v1, validFrom: 5000, validTo: 5601, username: "alice", secret: SymmetricKey(data: Array("s3cret".utf8)))
        #expect(try server.validateToken(long.encoded, now: 5100).failureReason == .lifetimeTooLong)
        #expect(throws: CRTAuthError(.invalidConfiguration, "")) { try makeServer(InMemoryKeyProvider(), lifetime: 599) }
    }

    @Test("secret rotation: the newest secret signs, all verify; tokens of both formats are accepted")
    func rotation() async throws {
        let old = try makeServer(InMemoryKeyProvider(keys: ["alice": [Self.rsa.publicKey]]), secrets: ["old"], tokenFormat: .v0)
        let rotated = try makeServer(old.keyProvider, secrets: ["new", "old"])
        let retired = try makeServer(old.keyProvider, secrets: ["new"])
        let oldToken = old.issueToken(for: "alice", now: 100).encoded
        #expect(oldToken.hasPrefix("dgAAA"))
        #expect(try rotated.validateToken(oldToken, now: 101).value == "alice")
        #expect(try retired.validateToken(oldToken, now: 101).failureReason == .badMAC)
        #expect(rotated.issueToken(for: "alice", now: 100).bytes.first == 0x01)
        let newToken = rotated.issueToken(for: "alice", now: 100).encoded
        #expect(try retired.validateToken(newToken, now: 101).value == "alice")
        // A challenge from the old secret still completes after rotation.
        guard case .success(let challenge) = try await old.createChallenge(for: CRTAuthRequest(username: "alice"), now: 100) else { return }
        let response = try await CRTAuthClientResponder.respond(to: challenge.encoded, serverName: "api.example.com", signers: [Self.rsa])
        #expect(try await rotated.createToken(response: response.encoded, now: 101).value != nil)
        #expect(try await retired.createToken(response: response.encoded, now: 101).failureReason == .badMAC)
    }

    @Test("lowest supported version refuses older handshakes with a typed error")
    func lowestVersion() async throws {
        let server = try makeServer(InMemoryKeyProvider(keys: ["alice": [Self.rsa.publicKey]]), lowest: .v1)
        await #expect(throws: CRTAuthError(.unsupportedVersion, "")) { try await server.createChallenge(for: .classify("alice"), now: 1) }
        #expect(try await handshake(server, user: "alice", version: .v1, signers: [Self.rsa]).value != nil)
    }

    @Test("unknown users and wrong signatures take the same path and the same answer to the client")
    func antiEnumeration() async throws {
        let server = try makeServer(InMemoryKeyProvider(keys: ["alice": [Self.rsa.publicKey]]))
        // A fake challenge for an unknown user, answered by someone's key: the client learns
        // only "bad signature".
        guard case .success(let fake) = try await server.createChallenge(for: CRTAuthRequest(username: "mallory"), now: 1) else { return }
        #expect(fake.fingerprint.count == 6)
        let forged = CRTAuthResponse(version: .v1, challengeBytes: fake.bytes, signature: Array(try Self.rsa.signature(for: fake.signedBytes, algorithm: .insecureRSASHA1).rawSignature))
        let unknown = try await server.createToken(response: forged.encoded, now: 2)
        #expect(unknown.failureReason == .unknownUser)
        // The other user's key for alice: a bad signature.
        let stranger = try SSHPrivateKey(generating: .rsa, rsaBits: 2048)
        guard case .success(let real) = try await server.createChallenge(for: CRTAuthRequest(username: "alice"), now: 1) else { return }
        let wrong = CRTAuthResponse(version: .v1, challengeBytes: real.bytes, signature: Array(try stranger.signature(for: real.signedBytes, algorithm: .insecureRSASHA1).rawSignature))
        #expect(try await server.createToken(response: wrong.encoded, now: 2).failureReason == .badSignature)
    }

    @Test("v2: an unknown user and an unregistered key both end as a refused signature")
    func v2AntiEnumeration() async throws {
        let server = try makeServer(InMemoryKeyProvider(keys: ["alice": [Self.ed.publicKey]]))
        let stranger = try SSHPrivateKey(generating: .ed25519)
        for user in ["alice", "mallory"] {
            guard case .success(let challenge) = try await server.createChallenge(for: CRTAuthRequest(username: user, version: .v2), now: 1) else { return }
            #expect(challenge.fingerprint.count == 32)
            let signature = try await SSHSig.sign(challenge.bytes, namespace: CRTAuthV2.namespace(serverName: "api.example.com"), with: stranger)
            let response = CRTAuthResponse(version: .v2, challengeBytes: challenge.bytes, signature: signature.wireBlob)
            let reason = try await server.createToken(response: response.encoded, now: 2).failureReason
            #expect(reason == (user == "alice" ? .badSignature : .unknownUser))
        }
    }

    @Test("a one-byte-short RSA signature is left-padded and accepted")
    func shortSignature() async throws {
        let server = try makeServer(InMemoryKeyProvider(keys: ["alice": [Self.rsa.publicKey]]))
        for attempt in 0..<2000 {
            guard case .success(let challenge) = try await server.createChallenge(for: CRTAuthRequest(username: "alice"), now: UInt64(1000 + attempt)) else { return }
            let signature = try Self.rsa.signature(for: challenge.signedBytes, algorithm: .insecureRSASHA1).rawSignature
            guard signature.first == 0 else { continue }
            let short = CRTAuthResponse(version: .v1, challengeBytes: challenge.bytes, signature: Array(signature.dropFirst()))
            #expect(try await server.createToken(response: short.encoded, now: UInt64(1001 + attempt)).value != nil)
            return
        }
        Issue.record("no signature with a leading zero in 2000 tries")
    }
}
