import AuthCore
import CRTAuth
import CRTAuthJWT
import CRTAuthSignatures
import Crypto
import Foundation
import SSHKeys
import TestSupport
import Testing

/// The bad-input battery over HTTP (issue #18): every case a request on a connection of its
/// own to a real `crtauth serve` with every scheme on; each must be a 4xx with a short reason
/// (never a 5xx, never an echo of the credential), and the gateway must serve afterwards. The
/// case names are listed in docs/threat_model.md.
@Suite("crtauth serve: the bad-input battery")
struct BadInputBatteryTests {
    /// A case: its name, the request's bytes, and the status expected (nil: any 4xx).
    struct Case {
        let name: String
        let request: [UInt8]
        let expected: Int?
    }

    static let secret = [UInt8](repeating: 0x5A, count: 32)
    static let serverName = "127.0.0.1"
    static let maximumBody = 1024

    /// A request head (and body) as a client writes it: `Host` first unless `host` is false.
    static func request(_ method: String = "GET", _ target: String = "/whoami", fields: [String] = [], body: String = "", host: Bool = true, version: String = "HTTP/1.1") -> [UInt8] {
        var text = "\(method) \(target) \(version)\r\n" + (host ? "Host: 127.0.0.1\r\n" : "")
        for field in fields { text += field + "\r\n" }
        if !body.isEmpty, !fields.contains(where: { $0.lowercased().hasPrefix("content-length") || $0.lowercased().hasPrefix("transfer-encoding") }) {
            text += "Content-Length: \(body.utf8.count)\r\n"
        }
        return Array((text + "\r\n" + body).utf8)
    }

    static func raw(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test("over 100 named bad requests: each a 4xx with a short reason, never a 5xx; the gateway serves afterwards")
    func battery() async throws {
        let enrolled = try GatewayTests.Enrolled(keyType: "ed25519")
        let data = enrolled.dir.file("data")
        #expect(FileManager.default.createFile(atPath: data + "/secret", contents: Data(Data(Self.secret).base64EncodedString().utf8), attributes: [.posixPermissions: 0o600]))
        let gateway = try GatewayProcess(enrolled.dir, ["--schemes", "chap,jwt,signature,serveradmin", "--server-name", Self.serverName, "--max-body", String(Self.maximumBody)])
        defer { gateway.stop() }
        let key = try SSHPrivateKey(fileContents: try String(contentsOfFile: enrolled.dir.file("alice"), encoding: .utf8), passphrase: nil)
        let stranger = try SSHPrivateKey(generating: .ed25519)
        let now = UInt64(Date().timeIntervalSince1970)
        let server = try AuthServer(configuration: .init(serverName: Self.serverName, secrets: [SymmetricKey(data: Self.secret)]), keyProvider: InMemoryKeyProvider(keys: ["alice": [key.publicKey]]))
        let otherServer = try AuthServer(configuration: .init(serverName: "elsewhere.example", secrets: [SymmetricKey(data: Self.secret)]), keyProvider: InMemoryKeyProvider(keys: ["alice": [key.publicKey]]))
        let otherSecret = try AuthServer(configuration: .init(serverName: Self.serverName, secrets: [SymmetricKey(data: [UInt8](repeating: 1, count: 32))]), keyProvider: InMemoryKeyProvider())

        /// A v2 response for `user`, signed by `signer`, to a challenge `server` made at `time`.
        func response(_ server: AuthServer, user: String = "alice", signer: SSHPrivateKey, at time: UInt64) async throws -> String {
            let keys = InMemoryKeyProvider(keys: [user: [signer.publicKey]])
            let issuing = try AuthServer(configuration: server.configuration, keyProvider: keys)
            guard case .success(let challenge) = try await issuing.createChallenge(for: CRTAuthRequest(username: user, version: .v2), now: time) else {
                throw ProcessError(message: "no challenge for \(user)")
            }
            return try await CRTAuthClientResponder.respond(to: challenge.encoded, serverName: server.configuration.serverName, signers: [signer]).encoded
        }
        let token = server.issueToken(for: "alice", now: now).encoded
        let validResponse = try await response(server, signer: key, at: now)

        var cases: [Case] = []
        func add(_ name: String, _ request: [UInt8], _ expected: Int? = nil) { cases.append(Case(name: name, request: request, expected: expected)) }

        // HTTP framing and heads.
        add("request line: not HTTP", Self.raw("GARBAGE\r\n\r\n"), 400)
        add("request line: lower-case method", Self.request("get"))
        add("request line: no target", Self.raw("GET HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"), 400)
        add("request line: HTTP/0.9 style", Self.raw("GET /whoami\r\n\r\n"))
        add("request line: unknown version", Self.request(version: "HTTP/3.7"))
        add("request line: tabs for spaces", Self.raw("GET\t/whoami\tHTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"), 400)
        add("header: no colon", Self.request(fields: ["NoColonHere"]), 400)
        add("header: space in the name", Self.request(fields: ["Bad Name: x"]), 400)
        add("header: NUL in a value", Self.request(fields: ["X-Test: a\u{0}b"]), 400)
        add("header: obsolete line folding", Self.request(fields: ["X-Test: a", " folded"]), 400)
        add("header: bare CR in a value", Self.request(fields: ["X-Test: a\rb"]), 400)
        add("Content-Length: not a number", Self.request("POST", fields: ["Content-Length: ten"], body: "0123456789"), 400)
        add("Content-Length: negative", Self.request("POST", fields: ["Content-Length: -1"]), 400)
        add("Content-Length: two values", Self.request("POST", fields: ["Content-Length: 3", "Content-Length: 4"], body: "abcd"), 400)
        add("Content-Length with chunked", Self.request("POST", fields: ["Content-Length: 4", "Transfer-Encoding: chunked"], body: "0\r\n\r\n"), 400)
        add("chunked: size not hex", Self.request("POST", fields: ["Transfer-Encoding: chunked"], body: "zz\r\nabc\r\n0\r\n\r\n"))
        add("chunked: size overflows", Self.request("POST", fields: ["Transfer-Encoding: chunked"], body: "ffffffffffffffffff\r\nabc\r\n0\r\n\r\n"))
        add("Transfer-Encoding: unknown coding", Self.request("POST", fields: ["Transfer-Encoding: gzip, chunked", "X-A: b"], body: "0\r\n\r\n"))
        add("head over 16 KiB", Self.request(fields: ["X-Big: " + String(repeating: "a", count: 17 * 1024)]), 431)
        add("101 header fields", Self.request(fields: (0..<101).map { "X-F\($0): v" }), 431)
        add("request target over 16 KiB", Self.request("GET", "/" + String(repeating: "a", count: 17 * 1024)), 431)
        add("two Host fields", Self.request(fields: ["Host: evil.example"]), 400)
        add("no Host field", Self.request(host: false), 400)
        add("absolute-form target of another host", Self.request("GET", "http://evil.example/whoami"))
        add("asterisk-form with GET", Self.request("GET", "*"))
        add("CONNECT", Self.request("CONNECT", "evil.example:443"))
        add("unknown method", Self.request("FROB"), 400)
        add("TRACE without credentials", Self.request("TRACE"), 401)

        // The crtauth handshake (/_auth).
        add("handshake: no X-CHAP", Self.request("GET", "/_auth"), 400)
        add("handshake: X-CHAP without a colon", Self.request("GET", "/_auth", fields: ["X-CHAP: request"]), 400)
        add("handshake: unknown X-CHAP method", Self.request("GET", "/_auth", fields: ["X-CHAP: bogus:abc"]), 400)
        add("handshake: empty request", Self.request("GET", "/_auth", fields: ["X-CHAP: request:"]), 400)
        add("handshake: username over the limit", Self.request("GET", "/_auth", fields: ["X-CHAP: request:" + String(repeating: "u", count: 65)]), 400)
        add("handshake: two X-CHAP fields", Self.request("GET", "/_auth", fields: ["X-CHAP: request:alice", "X-CHAP: request:bob"]), 400)
        add("handshake: empty response", Self.request("GET", "/_auth", fields: ["X-CHAP: response:"]), 400)
        add("handshake: response not base64url", Self.request("GET", "/_auth", fields: ["X-CHAP: response:!!!not base64!!!"]), 400)
        add("handshake: a request sent as a response", Self.request("GET", "/_auth", fields: ["X-CHAP: response:" + CRTAuthRequest(username: "alice").encoded]), 400)
        add("handshake: a token sent as a response", Self.request("GET", "/_auth", fields: ["X-CHAP: response:" + token]), 400)
        add("handshake: response cut short", Self.request("GET", "/_auth", fields: ["X-CHAP: response:" + String(validResponse.prefix(validResponse.count / 2))]), 400)
        let responseBytes = try #require(Base64URL.decode(validResponse))
        add("handshake: response with bytes after it", Self.request("GET", "/_auth", fields: ["X-CHAP: response:" + Base64URL.encode(responseBytes + [0, 1, 2])]))
        add("handshake: response with a tampered challenge", Self.request("GET", "/_auth", fields: ["X-CHAP: response:" + tampered(validResponse, at: 12)]))
        add("handshake: response with a tampered signature", Self.request("GET", "/_auth", fields: ["X-CHAP: response:" + tampered(validResponse, at: -6)]))
        add("handshake: challenge of another server name", Self.request("GET", "/_auth", fields: ["X-CHAP: response:" + (try await response(otherServer, signer: key, at: now))]), 403)
        add("handshake: challenge of another secret", Self.request("GET", "/_auth", fields: ["X-CHAP: response:" + (try await response(otherSecret, signer: key, at: now))]), 403)
        add("handshake: challenge expired", Self.request("GET", "/_auth", fields: ["X-CHAP: response:" + (try await response(server, signer: key, at: now - 300))]), 403)
        add("handshake: challenge from the future", Self.request("GET", "/_auth", fields: ["X-CHAP: response:" + (try await response(server, signer: key, at: now + 300))]), 403)
        add("handshake: signed by an unregistered key", Self.request("GET", "/_auth", fields: ["X-CHAP: response:" + (try await response(server, signer: stranger, at: now))]), 403)
        add("handshake: unknown user", Self.request("GET", "/_auth", fields: ["X-CHAP: response:" + (try await response(server, user: "mallory", signer: stranger, at: now))]), 403)
        add("handshake: X-CHAP over the head limit", Self.request("GET", "/_auth", fields: ["X-CHAP: response:" + String(repeating: "A", count: 70_000)]), 431)
        add("handshake: PUT", Self.request("PUT", "/_auth", fields: ["X-CHAP: request:alice"]), 405)
        add("handshake: DELETE", Self.request("DELETE", "/_auth", fields: ["X-CHAP: request:alice"]), 405)
        add("handshake: POST with a bad X-CHAP and a body", Self.request("POST", "/_auth", fields: ["X-CHAP: response:AAAA"], body: "hello"), 400)
        add("handshake: response of version 9", Self.request("GET", "/_auth", fields: ["X-CHAP: response:" + Base64URL.encode([9, 0x72, 0xA0])]), 400)

        // crtauth tokens.
        add("chap: empty token", Self.request(fields: ["Authorization: chap:"]), 401)
        add("chap: not base64url", Self.request(fields: ["Authorization: chap:!!!"]), 401)
        add("chap: tampered MAC", Self.request(fields: ["Authorization: chap:" + tampered(token, at: -3)]), 401)
        add("chap: tampered user", Self.request(fields: ["Authorization: chap:" + tampered(token, at: 8)]), 401)
        add("chap: another secret", Self.request(fields: ["Authorization: chap:" + otherSecret.issueToken(for: "alice", now: now).encoded]), 401)
        add("chap: expired", Self.request(fields: ["Authorization: chap:" + server.issueToken(for: "alice", now: now - 3600).encoded]), 401)
        add("chap: not yet valid", Self.request(fields: ["Authorization: chap:" + server.issueToken(for: "alice", now: now + 3600).encoded]), 401)
        add("chap: cut short", Self.request(fields: ["Authorization: chap:" + String(token.prefix(10))]), 401)
        add("chap: bytes after the token", Self.request(fields: ["Authorization: chap:" + token + "AAAA"]), 401)
        add("chap: two Authorization fields", Self.request(fields: ["Authorization: chap:" + token, "Authorization: chap:" + token]), 400)
        add("chap: no colon", Self.request(fields: ["Authorization: chap"]), 401)
        add("Authorization: Bearer", Self.request(fields: ["Authorization: Bearer abc.def.ghi"]), 401)
        add("Authorization: Basic", Self.request(fields: ["Authorization: Basic YWxpY2U6aHVudGVyMg=="]), 401)
        add("Authorization: empty", Self.request(fields: ["Authorization:"]), 401)
        add("chap: a token of 12 KiB", Self.request(fields: ["Authorization: chap:" + String(repeating: "A", count: 12 * 1024)]), 401)

        // asymmetric_jwt_auth JWTs.
        func jwtPart(_ json: String) -> String { Base64URL.encode(Array(json.utf8)) }
        let jwt = try await AsymmetricJWT.token(username: "alice", signer: key, time: now)
        let jwtParts = jwt.split(separator: ".").map(String.init)
        add("JWT: empty", Self.request(fields: ["Authorization: JWT "]))
        add("JWT: one part", Self.request(fields: ["Authorization: JWT abc"]), 400)
        add("JWT: parts not base64url", Self.request(fields: ["Authorization: JWT !!.??.**"]), 400)
        add("JWT: padded parts", Self.request(fields: ["Authorization: JWT " + jwtParts[0] + "=." + jwtParts[1] + "." + jwtParts[2]]), 400)
        add("JWT: alg none", Self.request(fields: ["Authorization: JWT " + jwtPart(#"{"alg":"none"}"#) + "." + jwtParts[1] + "."]))
        add("JWT: alg HS256", Self.request(fields: ["Authorization: JWT " + jwtPart(#"{"alg":"HS256"}"#) + "." + jwtParts[1] + "." + jwtParts[2]]))
        add("JWT: header not JSON", Self.request(fields: ["Authorization: JWT " + jwtPart("alg=EdDSA") + "." + jwtParts[1] + "." + jwtParts[2]]), 400)
        add("JWT: duplicate member", Self.request(fields: ["Authorization: JWT " + jwtPart(#"{"alg":"EdDSA","alg":"EdDSA"}"#) + "." + jwtParts[1] + "." + jwtParts[2]]), 400)
        add("JWT: nested too deep", Self.request(fields: ["Authorization: JWT " + jwtPart(#"{"alg":"EdDSA","x":[[[[[[[[[[1]]]]]]]]]]}"#) + "." + jwtParts[1] + "." + jwtParts[2]]), 400)
        add("JWT: claims tampered", Self.request(fields: ["Authorization: JWT " + jwtParts[0] + "." + jwtPart(#"{"username":"mallory","time":\#(now),"nonce":"x"}"#) + "." + jwtParts[2]]))
        add("JWT: signature tampered", Self.request(fields: ["Authorization: JWT " + tampered(jwt, at: -4)]), 401)
        add("JWT: too old", Self.request(fields: ["Authorization: JWT " + (try await AsymmetricJWT.token(username: "alice", signer: key, time: now - 3600))]), 401)
        add("JWT: from the future", Self.request(fields: ["Authorization: JWT " + (try await AsymmetricJWT.token(username: "alice", signer: key, time: now + 3600))]), 401)
        add("JWT: unregistered key", Self.request(fields: ["Authorization: JWT " + (try await AsymmetricJWT.token(username: "alice", signer: stranger, time: now))]), 401)
        add("JWT: unknown user", Self.request(fields: ["Authorization: JWT " + (try await AsymmetricJWT.token(username: "mallory", signer: key, time: now))]), 401)
        add("JWT: over the length limit", Self.request(fields: ["Authorization: JWT " + String(repeating: "a", count: 10_000) + ".b.c"]))

        // RFC 9421 HTTP message signatures.
        let message = RequestView(method: "GET", scheme: "http", authority: "127.0.0.1:\(gateway.port)", path: "/whoami", query: nil, fields: [(name: "host", value: "127.0.0.1")])
        let signed = try await HTTPMessageSignatures.sign(message, body: [UInt8](), signer: key, created: now)
        let input = try #require(signed.first { $0.name == "Signature-Input" }?.value), signature = try #require(signed.first { $0.name == "Signature" }?.value)
        add("RFC 9421: Signature-Input alone", Self.request(fields: ["Signature-Input: " + input]), 400)
        add("RFC 9421: Signature alone", Self.request(fields: ["Signature: " + signature]), 400)
        add("RFC 9421: not a dictionary", Self.request(fields: ["Signature-Input: ((", "Signature: sig1=:AAAA:"]), 400)
        add("RFC 9421: labels differ", Self.request(fields: ["Signature-Input: " + input, "Signature: other=" + signature.dropFirst("sig1=".count)]))
        add("RFC 9421: signature not base64", Self.request(fields: ["Signature-Input: " + input, "Signature: sig1=:!!!:"]), 400)
        // Not the last base64 characters: the one before "==" carries pad bits, which
        // structured-field parsers ignore (RFC 9651 §4.2.7), so changing it may change nothing.
        add("RFC 9421: signature tampered", Self.request(fields: ["Signature-Input: " + input, "Signature: " + tampered(signature, at: -12)]), 401)
        add("RFC 9421: unknown keyid", Self.request(fields: ["Signature-Input: " + input.replacingOccurrences(of: key.publicKey.sha256Fingerprint, with: stranger.publicKey.sha256Fingerprint), "Signature: " + signature]), 401)
        add("RFC 9421: created long ago", Self.request(fields: ["Signature-Input: " + input.replacingOccurrences(of: "created=\(now)", with: "created=\(now - 7200)"), "Signature: " + signature]))
        add("RFC 9421: created in the future", Self.request(fields: ["Signature-Input: " + input.replacingOccurrences(of: "created=\(now)", with: "created=\(now + 7200)"), "Signature: " + signature]))
        add("RFC 9421: unsupported alg", Self.request(fields: ["Signature-Input: " + input.replacingOccurrences(of: #"alg="ed25519""#, with: #"alg="hmac-sha256""#), "Signature: " + signature]))
        add("RFC 9421: @method not covered", Self.request(fields: ["Signature-Input: " + input.replacingOccurrences(of: #""@method" "#, with: ""), "Signature: " + signature]))
        add("RFC 9421: fields over the limit", Self.request(fields: ["Signature-Input: sig1=(" + String(repeating: "\"a\" ", count: 3000) + ")", "Signature: sig1=:AAAA:"]))
        let body = "{\"x\":1}"
        let message2 = RequestView(method: "POST", scheme: "http", authority: "127.0.0.1:\(gateway.port)", path: "/whoami", query: nil, fields: [(name: "host", value: "127.0.0.1")])
        let signedBody = try await HTTPMessageSignatures.sign(message2, body: Array(body.utf8), signer: key, created: now)
        add("RFC 9421: body differs from its Content-Digest", Self.request("POST", fields: signedBody.map { "\($0.name): \($0.value)" }, body: "{\"x\":2}"))
        add("RFC 9421: Content-Digest malformed", Self.request("POST", fields: signedBody.filter { $0.name != "Content-Digest" }.map { "\($0.name): \($0.value)" } + ["Content-Digest: sha-256=AAAA"], body: body))
        let large = String(repeating: "b", count: Self.maximumBody + 1)
        let largeDigest = try await HTTPMessageSignatures.sign(message2, body: Array(large.utf8), signer: key, created: now)
        add("RFC 9421: signed body over --max-body", Self.request("POST", fields: largeDigest.map { "\($0.name): \($0.value)" }, body: large), 413)

        // serveradmin.
        let adminBody = "{\"q\":1}"
        let admin = try await ServeradminSignatures.headers(timestamp: now, body: Array(adminBody.utf8), signers: [key])
        func adminField(_ name: String) -> String { admin.first { $0.name == name }?.value ?? "" }
        let (timestamp, publicKeys, signatures) = (adminField("X-Timestamp"), adminField("X-PublicKeys"), adminField("X-Signatures"))
        add("serveradmin: X-Timestamp alone", Self.request("POST", fields: ["X-Timestamp: \(now)"], body: adminBody), 400)
        add("serveradmin: timestamp not a number", Self.request("POST", fields: ["X-Timestamp: soon", "X-PublicKeys: " + publicKeys, "X-Signatures: " + signatures], body: adminBody), 400)
        add("serveradmin: two keys, one signature", Self.request("POST", fields: ["X-Timestamp: " + timestamp, "X-PublicKeys: \(publicKeys),\(publicKeys)", "X-Signatures: " + signatures], body: adminBody), 400)
        add("serveradmin: key not base64", Self.request("POST", fields: ["X-Timestamp: " + timestamp, "X-PublicKeys: !!!", "X-Signatures: " + signatures], body: adminBody))
        add("serveradmin: signature not base64", Self.request("POST", fields: ["X-Timestamp: " + timestamp, "X-PublicKeys: " + publicKeys, "X-Signatures: !!!"], body: adminBody))
        add("serveradmin: empty keys", Self.request("POST", fields: ["X-Timestamp: " + timestamp, "X-PublicKeys: ", "X-Signatures: "], body: adminBody))
        add("serveradmin: body changed", Self.request("POST", fields: ["X-Timestamp: " + timestamp, "X-PublicKeys: " + publicKeys, "X-Signatures: " + signatures], body: "{\"q\":2}"), 403)
        add("serveradmin: timestamp changed", Self.request("POST", fields: ["X-Timestamp: \(now - 1)", "X-PublicKeys: " + publicKeys, "X-Signatures: " + signatures], body: adminBody), 403)
        let stale = try await ServeradminSignatures.headers(timestamp: now - 7200, body: Array(adminBody.utf8), signers: [key])
        add("serveradmin: too old", Self.request("POST", fields: stale.map { "\($0.name): \($0.value)" }, body: adminBody))
        let future = try await ServeradminSignatures.headers(timestamp: now + 7200, body: Array(adminBody.utf8), signers: [key])
        add("serveradmin: from the future", Self.request("POST", fields: future.map { "\($0.name): \($0.value)" }, body: adminBody))
        let unregistered = try await ServeradminSignatures.headers(timestamp: now, body: Array(adminBody.utf8), signers: [stranger])
        add("serveradmin: unregistered key", Self.request("POST", fields: unregistered.map { "\($0.name): \($0.value)" }, body: adminBody), 401)
        let largeSigned = try await ServeradminSignatures.headers(timestamp: now, body: Array(large.utf8), signers: [key])
        add("serveradmin: signed body over --max-body", Self.request("POST", fields: largeSigned.map { "\($0.name): \($0.value)" }, body: large), 413)

        // Paths, identities and upgrades without a credential.
        add("no credentials", Self.request(), 401)
        add("dot segments to /whoami", Self.request("GET", "/public/../whoami"), 401)
        add("encoded dot segments", Self.request("GET", "/%2e%2e/whoami"), 401)
        add("identity headers claimed by the client", Self.request(fields: ["X-Authenticated-User: alice", "X-Authenticated-Scheme: chap"]), 401)
        add("/_auth/check without credentials", Self.request("GET", "/_auth/check"), 401)
        add("/_auth/check with a bad token", Self.request("GET", "/_auth/check", fields: ["Authorization: chap:AAAA"]), 401)
        add("WebSocket upgrade without credentials", Self.request(fields: ["Connection: Upgrade", "Upgrade: websocket", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13"]), 401)
        add("h2c upgrade without credentials", Self.request(fields: ["Connection: Upgrade, HTTP2-Settings", "Upgrade: h2c", "HTTP2-Settings: AAMAAABkAAQAAP__"]), 401)

        #expect(cases.count >= 100, "\(cases.count) cases")
        #expect(Set(cases.map(\.name)).count == cases.count, "case names are unique")
        let file = try enrolled.dir.write("battery.json", String(decoding: try JSONSerialization.data(withJSONObject: cases.map { [$0.name, Data($0.request).base64EncodedString()] }), as: UTF8.self))
        let output = try mustRun("python3", [try Python2.peer("raw_client.py"), "battery", String(gateway.port), file])
        let answers = Dictionary(uniqueKeysWithValues: output.split(separator: "\n").map { line -> (String, [Substring]) in
            let parts = line.split(separator: "\t", maxSplits: 3, omittingEmptySubsequences: false)
            return (String(parts[0]), Array(parts.dropFirst()))
        })
        for item in cases {
            let answer = try #require(answers[item.name], "\(item.name): no line")
            let status = Int(answer[0]) ?? 0
            if let expected = item.expected {
                #expect(status == expected, "\(item.name): \(answer[0]) \(answer.last ?? "")")
            } else {
                #expect((400..<500).contains(status), "\(item.name): \(answer[0]) \(answer.last ?? "")")
            }
            #expect((Int(answer[1]) ?? 0) < 300, "\(item.name): a short reason")
            #expect(!(answer.last ?? "").contains(token) && !(answer.last ?? "").contains("eyJ"), "\(item.name): no credential in the answer")
        }
        // Alive and serving: a valid token, a valid handshake response.
        #expect(try curl(gateway.url("/whoami"), headers: ["Authorization: chap:" + token]).status == 200)
        #expect(try curl(gateway.url("/_auth"), headers: ["X-CHAP: response:" + validResponse]).status == 200)
        #expect(!gateway.logText.contains("Fatal error") && !gateway.logText.contains(token))
        #expect(kill(gateway.child.pid, 0) == 0)
    }

    @Test("docs/threat_model.md lists every case of the battery")
    func listed() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let text = try String(contentsOf: root.appendingPathComponent("docs/threat_model.md"), encoding: .utf8)
        let source = try String(contentsOfFile: #filePath, encoding: .utf8)
        let names = source.split(separator: "\n").compactMap { line -> String? in
            guard let start = line.range(of: "add(\""), let end = line[start.upperBound...].range(of: "\"") else { return nil }
            return String(line[start.upperBound..<end.lowerBound])
        }
        #expect(names.count >= 100)
        for name in names { #expect(text.contains("`\(name)`"), "\(name) is not in docs/threat_model.md") }
    }
}
