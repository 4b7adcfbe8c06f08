import AuthCore
import CRTAuth
import CRTAuthJWT
import CRTAuthSignatures
import Crypto
import Foundation
import SSHKeys
import TestSupport

/// The bad tenth of the mix: credentials of the bad-input battery
/// (Tests/GatewayTests/BadInputBatteryTests.swift) that a client can send on a keep-alive
/// connection, one of each scheme's ways to be wrong. Every one must be refused with a 4xx.
enum BadCredentials {
    /// The case the flood sends.
    static let forgedToken = "chap: token of another secret"

    /// Named requests for `user` (whose keys are enrolled) at `authority`; `stranger`'s are not.
    static func make(user: SoakUser, stranger: SSHPrivateKey, authority: String, serverName: String) async throws -> [(name: String, request: SoakRequest)] {
        let now = UInt64(Date().timeIntervalSince1970)
        // A server with a secret the gateway does not have: its tokens and challenges are forged.
        let forger = try AuthServer(
            configuration: .init(serverName: serverName, secrets: [SymmetricKey(size: .bits256)]),
            keyProvider: InMemoryKeyProvider(keys: [user.name: [user.ed25519.publicKey], "mallory": [stranger.publicKey]])
        )
        let forged = forger.issueToken(for: user.name, now: now).encoded
        func forgedResponse(for name: String, signer: SSHPrivateKey) async throws -> String {
            guard case .success(let challenge) = try await forger.createChallenge(for: CRTAuthRequest(username: name, version: .v2), now: now) else {
                throw ExchangeFailure(description: "no forged challenge for \(name)")
            }
            return try await CRTAuthClientResponder.respond(to: challenge.encoded, serverName: serverName, signers: [signer]).encoded
        }
        let jwt = try await AsymmetricJWT.token(username: user.name, signer: user.ed25519, time: now)
        let jwtParts = jwt.split(separator: ".").map(String.init)
        let message = RequestView(method: "GET", scheme: "http", authority: authority, path: "/", query: nil, fields: [(name: "host", value: authority)])
        let signed = try await HTTPMessageSignatures.sign(message, body: [UInt8](), signer: user.ed25519, created: now)
        let input = signed.first { $0.name == "Signature-Input" }?.value ?? ""
        let signature = signed.first { $0.name == "Signature" }?.value ?? ""
        let strangers = try await HTTPMessageSignatures.sign(message, body: [UInt8](), signer: stranger, created: now)

        func authorization(_ value: String) -> SoakRequest { SoakRequest(path: "/", fields: [("Authorization", value)]) }
        func handshake(_ values: String...) -> SoakRequest { SoakRequest(path: "/_auth", fields: values.map { ("X-CHAP", $0) }) }
        return [
            (forgedToken, authorization("chap:" + forged)),
            ("chap: tampered MAC", authorization("chap:" + tampered(forged, at: -3))),
            ("chap: not base64url", authorization("chap:!!!")),
            ("chap: cut short", authorization("chap:" + String(forged.prefix(10)))),
            ("Authorization: Bearer", authorization("Bearer abc.def.ghi")),
            ("Authorization: Basic", authorization("Basic YWxpY2U6aHVudGVyMg==")),
            ("no credentials", SoakRequest(path: "/")),
            ("JWT: signature tampered", authorization("JWT " + tampered(jwt, at: -4))),
            ("JWT: alg none", authorization("JWT " + Base64URL.encode(Array(#"{"alg":"none"}"#.utf8)) + "." + jwtParts[1] + ".")),
            ("JWT: too old", authorization("JWT " + (try await AsymmetricJWT.token(username: user.name, signer: user.ed25519, time: now - 3600)))),
            ("JWT: unregistered key", authorization("JWT " + (try await AsymmetricJWT.token(username: user.name, signer: stranger, time: now)))),
            // Not at the end: the character before "==" carries pad bits that structured-field
            // parsers ignore (RFC 9651 §4.2.7); changed, the signature may stay valid.
            ("RFC 9421: signature tampered", SoakRequest(path: "/", fields: [("Signature-Input", input), ("Signature", tampered(signature, at: -12))])),
            ("RFC 9421: unknown keyid", SoakRequest(path: "/", fields: strangers)),
            ("RFC 9421: Signature alone", SoakRequest(path: "/", fields: [("Signature", signature)])),
            ("handshake: response not base64url", handshake("response:!!!not base64!!!")),
            ("handshake: challenge of another secret", handshake("response:" + (try await forgedResponse(for: user.name, signer: user.ed25519)))),
            ("handshake: two X-CHAP fields", handshake("request:" + user.name, "request:mallory")),
            ("handshake: unknown X-CHAP method", handshake("bogus:abc")),
        ]
    }
}
