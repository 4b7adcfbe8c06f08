import AuthCore
import CRTAuth
@testable import CRTAuthClient
import CRTAuthJWT
import CRTAuthSignatures
import Crypto
import Foundation
import SSHKeys

/// Seeds that only a run of this code can make: messages signed by ``FuzzKeys`` for
/// ``FuzzServer``, so that the fuzzer starts past the MAC and signature checks. Written by
/// `CRTAUTH_FUZZ_TARGET=seeds CRTAUTH_FUZZ_SEEDS=DIR` into DIR/TARGET/ (./scripts/fuzz --seed);
/// the test vectors of the references are copied beside them by the script.
func writeSeeds(to directory: String) async throws {
    func seed(_ target: String, _ name: String, _ contents: some Collection<UInt8>) throws {
        try FileManager.default.createDirectory(atPath: directory + "/" + target, withIntermediateDirectories: true)
        try Data(contents).write(to: URL(fileURLWithPath: directory + "/" + target + "/" + name))
    }
    func seed(_ target: String, _ name: String, _ text: String) throws { try seed(target, name, Array(text.utf8)) }

    let p256 = SSHPrivateKey(try P256.Signing.PrivateKey(rawRepresentation: [UInt8](repeating: 9, count: 32)), comment: "fuzz")
    let keys = [("ed25519", FuzzKeys.ed25519), ("rsa", FuzzKeys.rsa), ("p256", p256)]
    for (name, key) in keys {
        try seed("public-key-line", name, key.publicKey.openSSHLine(comment: "fuzz@example"))
        try seed("public-key-blob", name, key.publicKey.wireBlob)
        try seed("private-key", name, try key.openSSHFile())
        try seed("private-key", name + "-encrypted", try key.openSSHFile(passphrase: "fuzz", rounds: 1))
        let signature = try await key.sign(Array("fuzz".utf8), algorithm: nil)
        try seed("ssh-signature", name, signature.wireBlob)
        try seed("agent-signature", name, wireString(signature.wireBlob))
        let sshsig = try await SSHSig.sign(Array("fuzz".utf8), namespace: "file", with: key)
        try seed("sshsig-armor", name, sshsig.armored)
        try seed("sshsig-blob", name, sshsig.wireBlob)
    }
    let line = FuzzKeys.ed25519.publicKey.openSSHLine(comment: "alice@example")
    try seed("authorized-keys", "options", """
        # comment
        \(line)
        cert-authority,principals="alice,ops",expiry-time="20991231" \(FuzzKeys.rsa.publicKey.openSSHLine())
        command="echo hi",no-pty,from="10.0.0.0/8" \(p256.publicKey.openSSHLine(comment: "p256"))

        """)
    try seed("allowed-signers", "options", """
        alice@example,bob@example namespaces="git,file",valid-after="20200101",valid-before="20991231Z" \(line)
        * cert-authority \(FuzzKeys.rsa.publicKey.openSSHLine())

        """)
    var identities: [UInt8] = [0, 0, 0, UInt8(keys.count)]
    for (name, key) in keys { identities += wireString(key.publicKey.wireBlob) + wireString(Array(name.utf8)) }
    try seed("agent-identities", "three", identities)
    try seed("base64url", "token", Base64URL.encode(Array("fuzz base64url seed".utf8)))

    // crtauth: requests, challenges, responses and tokens of every version for alice.
    let server = FuzzServer.server
    for version in [CRTAuthVersion.v0, .v1, .v2] {
        let request = CRTAuthRequest(username: "alice", version: version)
        let requestText = version == .v0 ? "alice" : request.encoded
        try seed("crtauth-request", "\(version)", requestText)
        try seed("crtauth-handshake", "request-\(version)", "request:" + requestText)
        guard case .success(let challenge) = try await server.createChallenge(for: request, now: FuzzServer.now) else { continue }
        try seed("crtauth-message", "challenge-\(version)", challenge.encoded)
        let signer: any Signer = version == .v2 ? FuzzKeys.ed25519 : FuzzKeys.rsa
        let response = try await CRTAuthClientResponder.respond(to: challenge.encoded, serverName: "fuzz.example", signers: [signer])
        try seed("crtauth-message", "response-\(version)", response.encoded)
        try seed("crtauth-handshake", "response-\(version)", "response:" + response.encoded)
        if version != .v2 { try seed("crtauth-message", "request-\(version)", request.encoded) }
    }
    for format in [CRTAuthVersion.v0, .v1] {
        let issuing = try AuthServer(configuration: .init(serverName: "fuzz.example", secrets: server.configuration.secrets, tokenFormat: format), keyProvider: InMemoryKeyProvider())
        let token = issuing.issueToken(for: "alice", now: FuzzServer.now)
        try seed("crtauth-token", "\(format)", token.encoded)
        try seed("crtauth-message", "token-\(format)", token.encoded)
        try seed("base64url", "token-\(format)", token.encoded)
    }

    // JWT, JSON, JWKS.
    let jwt = try await AsymmetricJWT.token(username: "alice", signer: FuzzKeys.ed25519, time: FuzzServer.now)
    try seed("jwt", "ed25519", jwt)
    let parts = jwt.split(separator: ".")
    for (index, part) in parts.prefix(2).enumerated() {
        try seed("json", "jwt-\(index)", Base64URL.decode(String(part)) ?? [])
    }
    try seed("json", "nested", #"{"a":[1,2.5e3,-0,true,false,null,{"b":"\u00e9\ud83d\ude00"}],"c":"x"}"#)
    try seed("jwks", "two", JSONWebKeySet.document(publishing: [FuzzKeys.ed25519.publicKey, FuzzKeys.rsa.publicKey, p256.publicKey]))

    // Signed requests: RFC 9421 and serveradmin.
    let body = Array(#"{"fuzz":true}"#.utf8)
    let message = RequestView(method: "POST", scheme: "https", authority: "fuzz.example", path: "/", query: nil, fields: [(name: "content-type", value: "application/json")])
    let signed = try await HTTPMessageSignatures.sign(message, body: body, signer: FuzzKeys.ed25519, created: FuzzServer.now)
    try seed("http-signature", "ed25519", request(fields: [("Content-Type", "application/json")] + signed, body: body))
    let admin = try await ServeradminSignatures.headers(timestamp: FuzzServer.now, body: body, signers: [FuzzKeys.ed25519, FuzzKeys.rsa])
    try seed("serveradmin", "two-keys", request(fields: admin, body: body))

    // The client's files.
    let cached = CachedToken(token: "token", username: "alice", keyFingerprint: FuzzKeys.ed25519.publicKey.sha256Fingerprint, expiresAt: FuzzServer.now, scheme: "chap", server: "fuzz.example")
    try seed("token-cache", "token", try JSONEncoder().encode(cached))
    // The gateway's configuration file: the first byte picks JSON (0) or YAML (1).
    try seed("gateway-config", "json", [0] + Array(#"{"listen": "127.0.0.1:8080", "tls": {"cert": "a.pem", "key": "a.key"}, "schemes": ["chap", "jwt"], "max-body": 1024, "trusted-proxy": ["10.0.0.0/8"]}"#.utf8))
    try seed("gateway-config", "yaml", [1] + Array("listen: 127.0.0.1:8080\ntls:\n  cert: a.pem\n  key: a.key\nschemes: [chap, jwt]\nmax-body: 1024\npublic-path:\n  - /healthz\n".utf8))
    try seed("ldap-filter-value", "specials", "al*ice(\\)\u{0}é")
}

/// An SSH wire string: the length (4 bytes, big-endian) and the bytes.
func wireString(_ bytes: [UInt8]) -> [UInt8] {
    let count = UInt32(bytes.count)
    return [UInt8(count >> 24), UInt8(count >> 16 & 0xFF), UInt8(count >> 8 & 0xFF), UInt8(count & 0xFF)] + bytes
}

/// A request as ``FuzzRequest`` reads it.
func request(fields: [(name: String, value: String)], body: [UInt8]) -> [UInt8] {
    Array(fields.map { "\($0.name): \($0.value)" }.joined(separator: "\n").utf8) + Array("\n\n".utf8) + body
}
