import AuthCore
@testable import CRTAuth
import Crypto
import SSHKeys

/// The server every crtauth target asks: fixed secret, name and clock, one user (`alice`) with
/// the fixed keys of ``FuzzKeys``. Seeds made with the same values reach past the MAC checks.
enum FuzzServer {
    static let now: UInt64 = 1_800_000_000
    static let server: AuthServer = {
        try! AuthServer(configuration: .init(serverName: "fuzz.example", secrets: [SymmetricKey(data: Array("fuzz-secret".utf8))]), keyProvider: FuzzKeys.users)
    }()
}

/// Keys made from fixed bytes, so that seeds signed by them stay valid from run to run.
enum FuzzKeys {
    static let ed25519 = SSHPrivateKey(try! Curve25519.Signing.PrivateKey(rawRepresentation: [UInt8](repeating: 7, count: 32)), comment: "fuzz")
    /// RSA keys cannot be made from a seed here; ``rsaFile`` carries this one. Read anew when
    /// signing seeds: a private key kept in a global is reported by LeakSanitizer (its fields
    /// sit behind an enum payload whose spare bits hide the pointer), and targets need only
    /// the public key.
    static var rsa: SSHPrivateKey { try! SSHPrivateKey(fileContents: rsaFile, passphrase: nil) }
    static let rsaPublicKey = rsa.publicKey
    /// The user `alice` of every target's store.
    static let users = InMemoryKeyProvider(keys: ["alice": [ed25519.publicKey, rsaPublicKey]])
}

/// crtauth's messages (v0 XDR, v1 msgpack, v2), the token check, and the whole handshake
/// endpoint as a server runs it.
let crtauthTargets: [FuzzTarget] = [
    FuzzTarget(name: "crtauth-message") { bytes in
        let input = text(bytes)
        guard let message = try? CRTAuthMessage.decodeUnverified(input) else { return }
        let encoded: String
        switch message {
        case .request(let request): encoded = request.encoded
        case .challenge(let challenge): encoded = challenge.encoded
        case .response(let response): encoded = response.encoded
        case .token(let token): encoded = token.encoded
        }
        require((try? CRTAuthMessage.decodeUnverified(encoded)) == message, "a message encoded again decodes to another")
    },
    FuzzTarget(name: "crtauth-token") { bytes in
        // The server's check and the parser agree: a token the server admits parses, with
        // the same user; one that does not parse is never admitted.
        let input = text(bytes)
        let parsed = try? CRTAuthToken(decoding: input)
        let checked = try? FuzzServer.server.validateToken(input, now: FuzzServer.now)
        if case .success(let username)? = checked {
            require(parsed?.username == username, "validateToken admitted a token CRTAuthToken does not read as \(username)")
        }
        if parsed == nil { require(checked == nil, "validateToken decided on a token CRTAuthToken refuses") }
        if let parsed {
            require((try? CRTAuthToken(decoding: parsed.encoded)) == parsed, "a token encoded again decodes to another")
        }
        // The gateway's cache of authentic tokens decides as the server does, the first time
        // (the check) and the second (the kept token).
        let authenticator = ChapTokenAuthenticator(server: { FuzzServer.server })
        let cache = ChapTokenCache()
        let uncached = "\(String(describing: try? authenticator.authenticate(authorization: "chap:" + input, now: FuzzServer.now)))"
        for _ in 0..<2 {
            let cached = "\(String(describing: try? authenticator.authenticate(authorization: "chap:" + input, now: FuzzServer.now, cache: cache)))"
            require(cached == uncached, "the token cache decided otherwise than the server: \(cached) against \(uncached)")
        }
    },
    FuzzTarget(name: "crtauth-handshake") { bytes in
        // `X-CHAP` values as the endpoint gets them: each line one value.
        let values = text(bytes).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard let (_, answer) = HandshakeEndpoint.answerWithoutWaiting(xCHAP: values, server: FuzzServer.server, now: FuzzServer.now) else {
            require(false, "the in-memory store always answers at once")
            return
        }
        if case .exchange(let value, _) = answer {
            require(value.hasPrefix("challenge:") || value.hasPrefix("token:"), "an exchange that is neither challenge nor token")
        }
    },
    FuzzTarget(name: "crtauth-request") { bytes in
        let input = text(bytes)
        let classified = CRTAuthRequest.classify(input)
        require(!classified.username.isEmpty || input.isEmpty, "a request classified without a user")
        guard let request = try? CRTAuthRequest(decoding: input) else { return }
        require((try? CRTAuthRequest(decoding: request.encoded)) == request, "a request encoded again decodes to another")
        if request.username.utf8.count <= 1024 {
            require(CRTAuthRequest.classify(input) == request, "classify reads a valid request differently")
        }
    },
]
