import AuthCore
import CRTAuth
import CRTAuthJWT
import CRTAuthSignatures
import Foundation
import SSHKeys

/// A user of the load with an RSA key (crtauth v1) and an Ed25519 key (crtauth v2, JWTs,
/// RFC 9421), both enrolled in the gateway's store; makes that user's valid credentials.
struct SoakUser: Sendable {
    static let rsaBits = 2048

    let name: String
    let rsa: SSHPrivateKey
    let ed25519: SSHPrivateKey

    init(name: String) throws {
        self.name = name
        self.rsa = try SSHPrivateKey(generating: .rsa, rsaBits: Self.rsaBits, comment: name)
        self.ed25519 = try SSHPrivateKey(generating: .ed25519, comment: name)
    }

    /// A crtauth handshake over `connection`: request, challenge, signed response, token.
    /// Returns the last answer and the token it carries (nil when refused).
    func handshake(_ kind: TrafficKind, over connection: SoakConnection, serverName: String) async throws -> (answer: SoakAnswer, token: String?) {
        let (version, key): (CRTAuthVersion, SSHPrivateKey) = kind == .handshakeRSA ? (.v1, self.rsa) : (.v2, self.ed25519)
        let request = CRTAuthClientResponder.request(username: self.name, version: version)
        let first = try await connection.exchange(SoakRequest(path: "/_auth", fields: [("X-CHAP", "request:" + request)]))
        guard first.status == 200, let challenge = first.fields.first(name: "X-CHAP"), challenge.hasPrefix("challenge:") else { return (first, nil) }
        let response = try await CRTAuthClientResponder.respond(to: String(challenge.dropFirst("challenge:".count)), serverName: serverName, signers: [key])
        let second = try await connection.exchange(SoakRequest(path: "/_auth", fields: [("X-CHAP", "response:" + response.encoded)]))
        guard second.status == 200, let token = second.fields.first(name: "X-CHAP"), token.hasPrefix("token:") else { return (second, nil) }
        return (second, String(token.dropFirst("token:".count)))
    }

    /// `GET path` with a fresh asymmetric_jwt_auth JWT.
    func jwtRequest(_ path: String) async throws -> SoakRequest {
        let token = try await AsymmetricJWT.token(username: self.name, signer: self.ed25519, time: UInt64(Date().timeIntervalSince1970))
        return SoakRequest(path: path, fields: [("Authorization", "JWT " + token)])
    }

    /// `GET path` signed afresh with RFC 9421 (the key names the user).
    func signedRequest(_ path: String, authority: String) async throws -> SoakRequest {
        let message = RequestView(method: "GET", scheme: "http", authority: authority, path: path, query: nil, fields: [(name: "host", value: authority)])
        let fields = try await HTTPMessageSignatures.sign(message, body: [UInt8](), signer: self.ed25519, created: UInt64(Date().timeIntervalSince1970))
        return SoakRequest(path: path, fields: fields)
    }
}
