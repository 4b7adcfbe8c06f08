import AuthCore
import BenchmarkCases
import CRTAuth
import CRTAuthJWT
import CRTAuthSignatures
import Crypto
import Foundation
import SSHKeys
import _CryptoExtras

// The per-request schemes against the primitives they are built on, in interleaved batches in
// one process (machine noise lands on both sides alike):
//   - JWT verification (EdDSA, RS512): AsymmetricJWT.Verifier.verify (parse, key lookup,
//     signature, replay check) vs a raw swift-crypto verify of the same signing input;
//   - RFC 9421 verification of a typical GET (ed25519) vs a raw Ed25519 verify of its base;
//   - InMemoryNonceStore: inserts per second, and memory for 1M live nonces.
// Usage: SignatureRatio [jwt|rfc9421|nonces]

let rounds = 30
let batch = 200

/// Rate ratio (ours / raw) from interleaved batches. Both sides see the same fresh credential
/// each time (the raw side its signing input and signature), so caches favour neither.
func compare(_ name: String, ours: (Int) async -> Bool, raw: (Int) -> Bool) async {
    var oursSamples: [Double] = [], rawSamples: [Double] = []
    var nextOurs = 0, nextRaw = 0
    for _ in 0..<rounds {
        oursSamples.append(await measureAsync(batch) { nextOurs += 1; return await ours(nextOurs - 1) })
        rawSamples.append(measure(batch) { nextRaw += 1; return raw(nextRaw - 1) })
    }
    let oursMicros = median(oursSamples) / Double(batch), rawMicros = median(rawSamples) / Double(batch)
    print(String(format: "%@: ours %.2f µs, raw %.2f µs, rate ratio %.3f (target >= 0.85); ours %.0f/s", name, oursMicros, rawMicros, rawMicros / oursMicros, 1e6 / oursMicros))
}

func runBenchmarks() async throws {
    let only = CommandLine.arguments.dropFirst().first
    let now: UInt64 = 1_800_000_000
    let ed = try SSHPrivateKey(generating: .ed25519)
    let rsa = try SSHPrivateKey(generating: .rsa, rsaBits: 2048)
    let keys = InMemoryKeyProvider(keys: ["alice": [ed.publicKey, rsa.publicKey]])
    let count = rounds * batch

    if only == nil || only == "jwt" {
        let verifier = AsymmetricJWT.Verifier()
        for (label, key) in [("JWT EdDSA", ed), ("JWT RS512", rsa)] {
            var tokens: [String] = []
            for index in 0..<count {
                tokens.append(try await AsymmetricJWT.token(username: "alice", signer: key, time: now, nonce: "n\(index)"))
            }
            let nonces = InMemoryNonceStore()
            let raws = tokens.map { token in
                let parts = token.split(separator: ".")
                return (input: Array((parts[0] + "." + parts[1]).utf8), signature: Base64URL.decode(String(parts[2]))!)
            }
            let raw: (Int) -> Bool
            if key.publicKey.type == .ed25519 {
                let rawKey = try Curve25519.Signing.PublicKey(rawRepresentation: Array(key.publicKey.wireBlob.suffix(32)))
                raw = { rawKey.isValidSignature(raws[$0].signature, for: raws[$0].input) }
            } else {
                let rawKey = try _RSA.Signing.PublicKey(pemRepresentation: key.publicKey.spkiPEM)
                raw = { rawKey.isValidSignature(_RSA.Signing.RSASignature(rawRepresentation: raws[$0].signature), for: SHA512.hash(data: raws[$0].input), padding: .insecurePKCS1v1_5) }
            }
            await compare(label, ours: { index in
                if case .success = try? await verifier.verify(token: tokens[index], now: now + 1, keys: keys, nonces: nonces) { return true }
                return false
            }, raw: raw)
        }
    }

    if only == "jwt-parse" {
        // For a profiler: nothing but token parsing.
        let token = try await AsymmetricJWT.token(username: "alice", signer: rsa, time: now)
        var parsed = 0
        for _ in 0..<500_000 where (try? AsymmetricJWT.UnverifiedToken(token)) != nil { parsed += 1 }
        print("parsed", parsed)
        return
    }

    if only == "jwt-breakdown" {
        // Where a JWT RS512 verification's time goes beyond the RSA verify (round-robin batches).
        var made: [String] = []
        for index in 0..<count { made.append(try await AsymmetricJWT.token(username: "alice", signer: rsa, time: now, nonce: "n\(index)")) }
        let tokens = made
        let nonces = InMemoryNonceStore(), verifyNonces = InMemoryNonceStore()
        var next = [Int](repeating: 0, count: 8)
        let verifier = AsymmetricJWT.Verifier()
        let raws = tokens.map { token in
            let parts = token.split(separator: ".")
            return (input: Array((parts[0] + "." + parts[1]).utf8), signature: Base64URL.decode(String(parts[2]))!)
        }
        let rawKey = try _RSA.Signing.PublicKey(pemRepresentation: rsa.publicKey.spkiPEM)
        let cases: [(String, (Int) async -> Bool)] = [
            ("parse token", { (index: Int) async -> Bool in (try? AsymmetricJWT.UnverifiedToken(tokens[index])) != nil }),
            ("raw verify", { (index: Int) async -> Bool in rawKey.isValidSignature(_RSA.Signing.RSASignature(rawRepresentation: raws[index].signature), for: SHA512.hash(data: raws[index].input), padding: .insecurePKCS1v1_5) }),
            ("SSHKeys raw verify", { (index: Int) async -> Bool in rsa.publicKey.isValidRawSignature(raws[index].signature, for: raws[index].input, algorithm: .rsaPKCS1SHA512) }),
            ("key lookup", { (_: Int) async -> Bool in (try? await keys.keys(for: "alice")) != nil }),
            ("nonce insert", { (index: Int) async -> Bool in (try? await nonces.insertIfAbsent("jwt:5:alice:\(now):n\(index)", expiresAt: now + 60, now: now)) == true }),
            ("full verify", { (index: Int) async -> Bool in
                guard case .success? = try? await verifier.verify(token: tokens[index], now: now + 1, keys: keys, nonces: verifyNonces) else { return false }
                return true
            }),
        ]
        var samples = [[Double]](repeating: [], count: cases.count)
        for _ in 0..<rounds {
            for (index, (_, body)) in cases.enumerated() {
                samples[index].append(await measureAsync(batch) { next[index] += 1; return await body(next[index] - 1) })
            }
        }
        for (index, (name, _)) in cases.enumerated() { print(name, String(format: "%.2f µs", median(samples[index]) / Double(batch))) }
        return
    }

    if only == nil || only == "rfc9421" {
        let message = HTTPMessageSignatures.Message(
            method: "GET", scheme: "https", authority: "api.example.com", path: "/v1/items/42", query: "expand=owner",
            fields: [("Host", "api.example.com"), ("Accept", "application/json"), ("User-Agent", "crtauth/1.0")])
        var signed: [(input: String, signature: String)] = []
        for _ in 0..<count {
            let fields = try await HTTPMessageSignatures.sign(message, body: [UInt8](), signer: ed, created: now)
            signed.append((fields[0].value, fields[1].value))
        }
        let nonces = InMemoryNonceStore()
        // The raw side: each request's signature base (built here, outside the timing) and signature.
        let raws = try signed.map { input, signature in
            let base = try HTTPMessageSignatures.signatureBase(message: message, components: ["@method", "@target-uri"], parameters: String(input.dropFirst("sig1=".count)))
            return (base: base, signature: Array(Data(base64Encoded: String(signature.dropFirst("sig1=:".count).dropLast()))!))
        }
        let rawKey = try Curve25519.Signing.PublicKey(rawRepresentation: Array(ed.publicKey.wireBlob.suffix(32)))
        await compare("RFC 9421 GET ed25519", ours: { index in
            let outcome = try? await HTTPMessageSignatures.verify(message, body: [UInt8](), signatureInput: signed[index].input, signature: signed[index].signature, now: now + 1, keys: keys, nonces: nonces)
            if case .success = outcome { return true }
            return false
        }, raw: { rawKey.isValidSignature(raws[$0].signature, for: raws[$0].base) })
    }

    if only == nil || only == "nonces" {
        let total = 1_000_000
        // JWT-style records, made before measuring.
        let records = (0..<total).map { "jwt:5:alice:\(now):\(String($0, radix: 36))-nonce" }
        let store = InMemoryNonceStore(capacity: total)
        let before = residentBytes()
        let start = ContinuousClock.now
        for record in records {
            guard (try? await store.insertIfAbsent(record, expiresAt: now + 60, now: now)) == true else { fatalError("insert refused") }
        }
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let after = residentBytes()
        print(String(format: "InMemoryNonceStore: %.2f M inserts/s (target >= 1M/s); %d live nonces take %.1f MB (target <= 128 MB)",
                     Double(total) / seconds / 1e6, store.count, Double(after - before) / 1_048_576))
    }
}

/// This process's resident set size, from /proc/self/statm.
func residentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8), let pages = Int(text.split(separator: " ")[1]) else { return 0 }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}

try await Task.detached { try await runBenchmarks() }.value
