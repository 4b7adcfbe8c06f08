import AuthCore
import CRTAuth
@testable import CRTAuthSignatures
import RawStructuredFieldValues
import Crypto
import Foundation
import SSHKeys
import Testing

@Suite("RFC 9421 HTTP message signatures")
struct HTTPMessageSignaturesTests {
    static func vectorKey(_ name: String) throws -> SSHPrivateKey {
        let url = try #require(Bundle.module.url(forResource: name, withExtension: "key", subdirectory: "Vectors/rfc9421"))
        return try SSHPrivateKey(fileContents: try String(contentsOf: url, encoding: .utf8))
    }

    /// RFC 9421 appendix B.2's request.
    static let exampleBody = Array(#"{"hello": "world"}"#.utf8)
    static let example = HTTPMessageSignatures.Message(
        method: "POST", scheme: "https", authority: "example.com", path: "/foo", query: "param=Value&Pet=dog",
        fields: [
            ("Host", "example.com"), ("Date", "Tue, 20 Apr 2021 02:07:55 GMT"), ("Content-Type", "application/json"),
            ("Content-Digest", "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:"),
            ("Content-Length", "18"),
        ])

    static let alice = SSHPrivateKey(Curve25519.Signing.PrivateKey())
    static let rsa = try! SSHPrivateKey(generating: .rsa, rsaBits: 2048)
    static let p256 = SSHPrivateKey(P256.Signing.PrivateKey())
    static let p384 = SSHPrivateKey(P384.Signing.PrivateKey())
    static let keys = InMemoryKeyProvider(keys: ["alice": [alice.publicKey, rsa.publicKey, p256.publicKey, p384.publicKey], "bob": [SSHPrivateKey(Curve25519.Signing.PrivateKey()).publicKey]])
    static let now: UInt64 = 1_700_000_000

    @Test("B.2.6 (ed25519): our signature base and signature are the RFC's, byte for byte")
    func b26() async throws {
        let key = try Self.vectorKey("test-key-ed25519")
        let components = ["date", "@method", "@path", "@authority", "content-type", "content-length"]
        let parameters = #"("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519""#
        let base = try HTTPMessageSignatures.signatureBase(message: Self.example, components: components, parameters: parameters)
        #expect(String(decoding: base, as: UTF8.self) == """
            "date": Tue, 20 Apr 2021 02:07:55 GMT
            "@method": POST
            "@path": /foo
            "@authority": example.com
            "content-type": application/json
            "content-length": 18
            "@signature-params": \(parameters)
            """)
        let signature = try key.rawSignature(for: base, algorithm: .ed25519)
        #expect(Data(signature).base64EncodedString() == "wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==")
        // The B.2 Content-Digest is RFC 9530's sha-512 of the body.
        #expect(Data(SHA512.hash(data: Self.exampleBody)).base64EncodedString() == "WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==")
    }

    func verify(_ message: HTTPMessageSignatures.Message, body: [UInt8] = [], fields: [(name: String, value: String)], now: UInt64 = HTTPMessageSignaturesTests.now, nonces: any NonceStore = InMemoryNonceStore(), policy: HTTPMessageSignatures.Policy = .init()) async throws -> AuthenticationOutcome<AuthenticatedIdentity> {
        var message = message
        message.fields = FieldList(message.fields.all + fields.filter { $0.name.lowercased() == "content-digest" })
        let input = fields.first { $0.name == "Signature-Input" }?.value
        let signature = fields.first { $0.name == "Signature" }?.value
        return try await HTTPMessageSignatures.verify(message, body: body, signatureInput: input, signature: signature, now: now, keys: Self.keys, nonces: nonces, policy: policy)
    }

    func reason(_ outcome: AuthenticationOutcome<AuthenticatedIdentity>) -> AuthenticationFailure.Reason? {
        if case .failure(let failure) = outcome { return failure.reason }
        return nil
    }

    static let get = HTTPMessageSignatures.Message(method: "GET", scheme: "http", authority: "127.0.0.1:8080", path: "/api/items", query: "page=2", fields: [("Accept", "*/*")])

    @Test("each key type signs (the client side) and verifies; the identity names the key")
    func roundTrips() async throws {
        for key in [Self.alice, Self.rsa, Self.p256, Self.p384] {
            let fields = try await HTTPMessageSignatures.sign(Self.get, body: [UInt8](), signer: key, created: Self.now)
            guard case .success(let identity) = try await self.verify(Self.get, fields: fields) else { Issue.record("\(key.publicKey.type.name) refused"); continue }
            #expect(identity.username == "alice" && identity.key == key.publicKey && identity.scheme == .signature)
        }
        let fields = try await HTTPMessageSignatures.sign(Self.get, body: [UInt8](), signer: Self.rsa, created: Self.now)
        #expect(fields.contains { $0.value.contains(#"alg="rsa-v1_5-sha256""#) })
        let base = fields.first { $0.name == "Signature-Input" }!.value
        #expect(base.hasPrefix(#"sig1=("@method" "@target-uri");created=1700000000;nonce=""#))
    }

    @Test("rsa-pss-sha512 (made in process: ssh-agent cannot) verifies; with alg given, only that algorithm is tried")
    func rsaPSS() async throws {
        let params = #"("@method" "@target-uri");created=1700000000;keyid="\#(Self.rsa.publicKey.sha256Fingerprint)";alg="rsa-pss-sha512""#
        let base = try HTTPMessageSignatures.signatureBase(message: Self.get, components: ["@method", "@target-uri"], parameters: params)
        let pss = Data(try Self.rsa.rawSignature(for: base, algorithm: .rsaPSSSHA512)).base64EncodedString()
        #expect(self.reason(try await self.verify(Self.get, fields: [("Signature-Input", "sig1=" + params), ("Signature", "sig1=:\(pss):")])) == nil)
        // The same bytes claimed as PKCS#1 v1.5: refused.
        let v15 = params.replacingOccurrences(of: "rsa-pss-sha512", with: "rsa-v1_5-sha256")
        #expect(self.reason(try await self.verify(Self.get, fields: [("Signature-Input", "sig1=" + v15), ("Signature", "sig1=:\(pss):")])) == .badSignature)
    }

    @Test("a POST with a body: content-digest added, covered and checked")
    func bodies() async throws {
        let post = HTTPMessageSignatures.Message(method: "POST", scheme: "http", authority: "127.0.0.1:8080", path: "/api/items", query: nil, fields: [])
        let fields = try await HTTPMessageSignatures.sign(post, body: Self.exampleBody, signer: Self.alice, created: Self.now)
        #expect(fields.first?.value == "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:")
        #expect(self.reason(try await self.verify(post, body: Self.exampleBody, fields: fields)) == nil)
        #expect(self.reason(try await self.verify(post, body: Array("{}".utf8), fields: fields)) == .badSignature)
        // A body without a signed digest.
        let unsigned = try await HTTPMessageSignatures.sign(post, body: [UInt8](), signer: Self.alice, created: Self.now)
        let outcome = try await self.verify(post, body: Self.exampleBody, fields: unsigned)
        #expect(self.reason(outcome) == .refused)
        // The log learns why; the client only that it was refused.
        if case .failure(let failure) = outcome { #expect(failure.detail == "the body is not covered by content-digest") }
    }

    @Test("refused: another path, another method, components left out, outside the window, replays, unknown keys")
    func refusals() async throws {
        let fields = try await HTTPMessageSignatures.sign(Self.get, body: [UInt8](), signer: Self.alice, created: Self.now)
        var otherPath = Self.get
        otherPath.path = "/api/admin"
        #expect(self.reason(try await self.verify(otherPath, fields: fields)) == .badSignature)
        var otherMethod = Self.get
        otherMethod.method = "DELETE"
        #expect(self.reason(try await self.verify(otherMethod, fields: fields)) == .badSignature)
        #expect(self.reason(try await self.verify(Self.get, fields: fields, now: Self.now + 301)) == .expired)
        #expect(self.reason(try await self.verify(Self.get, fields: fields, now: Self.now - 31)) == .notYetValid)
        let nonces = InMemoryNonceStore()
        #expect(self.reason(try await self.verify(Self.get, fields: fields, nonces: nonces)) == nil)
        #expect(self.reason(try await self.verify(Self.get, fields: fields, nonces: nonces)) == .replayed)
        let stranger = try await HTTPMessageSignatures.sign(Self.get, body: [UInt8](), signer: SSHPrivateKey(Curve25519.Signing.PrivateKey()), created: Self.now)
        #expect(self.reason(try await self.verify(Self.get, fields: stranger)) == .unknownUser)
        #expect(self.reason(try await self.verify(Self.get, fields: fields, policy: .init(tag: "app"))) == .refused)

        // Signatures that leave out what the policy needs, made by hand.
        for components in [["@target-uri"], ["@method"], ["@method", "@path"], ["@method", "@authority", "@path"]] {
            let params = #"(\#(components.map { "\"\($0)\"" }.joined(separator: " ")));created=1700000000;keyid="\#(Self.alice.publicKey.sha256Fingerprint)""#
            let base = try HTTPMessageSignatures.signatureBase(message: Self.get, components: components, parameters: params)
            let signature = Data(try Self.alice.rawSignature(for: base, algorithm: .ed25519)).base64EncodedString()
            let outcome = try await self.verify(Self.get, fields: [("Signature-Input", "sig1=" + params), ("Signature", "sig1=:\(signature):")])
            #expect(self.reason(outcome) == .refused, "\(components)")
        }
    }

    @Test("malformed: labels missing or twice, wrong types, component parameters, oversize, every prefix — typed errors")
    func malformed() async throws {
        let fields = try await HTTPMessageSignatures.sign(Self.get, body: [UInt8](), signer: Self.alice, created: Self.now)
        let input = fields[0].value, signature = fields[1].value
        func expectError(_ input: String?, _ signature: String?, _ comment: Comment) async {
            await #expect(throws: SignatureSchemeError.self, comment) {
                try await HTTPMessageSignatures.verify(Self.get, body: [UInt8](), signatureInput: input, signature: signature, now: Self.now, keys: Self.keys, nonces: InMemoryNonceStore())
            }
        }
        await expectError(input, nil, "no Signature")
        await expectError(nil, signature, "no Signature-Input")
        await expectError(input, signature.replacingOccurrences(of: "sig1=", with: "sig2="), "label missing from Signature")
        await expectError(input + ", " + input, signature, "a label twice in Signature-Input")
        await expectError(input, signature + ", " + signature, "a label twice in Signature")
        await expectError(input.replacingOccurrences(of: #""@method""#, with: #""@method" "@method""#), signature, "a component twice")
        await expectError(input.replacingOccurrences(of: #""@method""#, with: #""@method";sf"#), signature, "component parameters")
        await expectError(input.replacingOccurrences(of: "created=1700000000", with: #"created="now""#), signature, "created as a string")
        await expectError(input.replacingOccurrences(of: #"alg="ed25519""#, with: #"alg="hmac-sha256""#), signature, "hmac")
        await expectError(String(repeating: "a", count: 9 * 1024), signature, "oversize")
        await expectError("sig1=:AAAA:", signature, "not an inner list")
        for end in 0..<input.count {
            do {
                let outcome = try await HTTPMessageSignatures.verify(Self.get, body: [UInt8](), signatureInput: String(input.prefix(end)), signature: signature, now: Self.now, keys: Self.keys, nonces: InMemoryNonceStore())
                if case .success = outcome { Issue.record("a prefix of \(end) characters passed") }
            } catch is SignatureSchemeError {}
        }
    }
}

/// The verifier's own structured-field parser against swift-http-structured-headers.
@Suite("Signature-Input parsing agrees with swift-http-structured-headers")
struct SignatureFieldParserTests {
    static func libraryForm(_ text: String) -> [String]? {
        var parser = StructuredFieldValueParser(Array(text.utf8))
        guard let dictionary = try? parser.parseDictionaryFieldValue() else { return nil }
        var out: [String] = []
        for (name, member) in dictionary {
            var serializer = StructuredFieldValueSerializer()
            var single = OrderedMap<String, ItemOrInnerList>()
            single[name] = member
            guard let bytes = try? serializer.writeDictionaryFieldValue(single) else { return nil }
            out.append(String(decoding: bytes, as: UTF8.self))
        }
        return out
    }

    static func ourForm(_ text: String) -> [String]? {
        guard let members = try? SignatureFieldParser.parseDictionary(text, field: "test") else { return nil }
        return members.map { name, member in
            switch member {
            case .innerList(let items, let parameters): return name + "=" + SignatureFieldParser.serialize(innerList: items, parameters: parameters)
            case .item(let item):
                // "(value;params)" without its parentheses; a true boolean is written as its name alone.
                let inner = SignatureFieldParser.serialize(innerList: [item], parameters: []).dropFirst().dropLast()
                return item.value == .bool(true) ? name + inner.drop { $0 != ";" } : name + "=" + inner
            }
        }
    }

    static func randomField(_ generator: inout some RandomNumberGenerator) -> String {
        let names = ["@method", "@target-uri", "@authority", "@path", "@query", "content-digest", "x-a\"b", "back\\slash", "date"]
        var members: [String] = []
        for index in 0..<Int.random(in: 1...3, using: &generator) {
            let chosen = names.shuffled(using: &generator).prefix(Int.random(in: 0...4, using: &generator))
            let spaces = { (g: inout any RandomNumberGenerator) in String(repeating: " ", count: Int.random(in: 1...2, using: &g)) }
            var anyGenerator: any RandomNumberGenerator = SystemRandomNumberGenerator()
            let items = chosen.map { "\"" + $0.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\"" }
            var member = "sig\(index)=(" + items.joined(separator: spaces(&anyGenerator)) + ")"
            let parameters = [
                ";created=\(Int.random(in: -5...1_900_000_000, using: &generator))", ";keyid=\"SHA256:abc/+=\"", ";alg=\"ed25519\"",
                ";nonce=\"n\(Int.random(in: 0...99, using: &generator))\"", ";tag=tok/en:x", ";flag", ";off=?0", ";b=:AAE=:",
            ]
            for parameter in parameters.shuffled(using: &generator).prefix(Int.random(in: 0...5, using: &generator)) { member += parameter }
            members.append(member)
        }
        return members.joined(separator: [",", ", ", ",\t"].randomElement(using: &generator)!)
    }

    @Test("generated fields and 2000 mutations: the same members, or both refuse")
    func differential() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<500 {
            let field = Self.randomField(&generator)
            let library = Self.libraryForm(field)
            #expect(library != nil, "\(field)")
            #expect(Self.ourForm(field) == library, "\(field)")
            var bytes = Array(field.utf8)
            for _ in 0..<4 {
                var mutated = bytes
                let position = Int.random(in: 0..<mutated.count, using: &generator)
                switch Int.random(in: 0..<3, using: &generator) {
                case 0: mutated[position] = UInt8.random(in: 0x20...0x7E, using: &generator)
                case 1: mutated.remove(at: position)
                default: mutated.insert(UInt8.random(in: 0x20...0x7E, using: &generator), at: position)
                }
                let text = String(decoding: mutated, as: UTF8.self)
                let theirs = Self.libraryForm(text), ours = Self.ourForm(text)
                if let ours {
                    // Whatever we accept, the library accepts identically.
                    #expect(theirs == ours, "\(text)")
                } else if let theirs {
                    // We refuse more: decimals, dates, display strings, and names given twice
                    // (parameters given twice, which mutations hardly ever make, would show here).
                    let names = theirs.map { $0.prefix { $0 != "=" && $0 != ";" } }
                    let explained = text.contains(".") || text.contains("@") || text.contains("%") || Set(names).count < names.count
                    #expect(explained, "refused what the library accepts: \(text)")
                }
                bytes = mutated
            }
        }
    }
}
