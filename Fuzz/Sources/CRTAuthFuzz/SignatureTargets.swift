import AuthCore
@testable import CRTAuthSignatures
import SSHKeys

/// RFC 9421's fields and Content-Digest, serveradmin's three headers, and LDAP filter values.
let signatureTargets: [FuzzTarget] = [
    FuzzTarget(name: "http-signature") { bytes in
        // A request head: `name: value` lines, then a blank line and the body.
        let request = FuzzRequest(bytes)
        let authenticator = HTTPSignatureAuthenticator(keys: FuzzKeys.users, nonces: InMemoryNonceStore())
        runBlocking { _ = try? await authenticator.authenticate(request.view, now: FuzzServer.now) }
        for name in ["signature-input", "signature", "content-digest"] {
            if let value = request.view.field(name) { _ = try? SignatureFieldParser.parseDictionary(value, field: name) }
        }
        if let digest = request.view.field("content-digest") { _ = try? HTTPMessageSignatures.checkContentDigest(digest, body: request.body) }
    },
    FuzzTarget(name: "serveradmin") { bytes in
        let request = FuzzRequest(bytes)
        let authenticator = ServeradminAuthenticator(keys: FuzzKeys.users, nonces: InMemoryNonceStore())
        runBlocking { _ = try? await authenticator.authenticate(request.view, now: FuzzServer.now) }
    },
]

/// The fuzzer's bytes as a request to `POST /` (what an authenticator reads).
struct FuzzRequest {
    let view: RequestView
    let body: [UInt8]

    init(_ bytes: [UInt8]) {
        let input = text(bytes)
        let parts = input.split(separator: "\n\n", maxSplits: 1, omittingEmptySubsequences: false)
        let fields = (parts.first ?? "").split(separator: "\n").compactMap { line -> (name: String, value: String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), String(line[line.index(after: colon)...].drop { $0 == " " }))
        }
        let body = parts.count > 1 ? Array(parts[1].utf8) : []
        self.body = body
        self.view = RequestView(method: "POST", scheme: "https", authority: "fuzz.example", path: "/", query: nil, fields: fields, body: { body })
    }
}
