import AuthCore
import CRTAuth
import Crypto
import Dispatch
import Foundation
import SSHKeys
import _CryptoExtras

// Repeats createToken (or the raw primitive it is compared with, or token validation) N times, for instruction
// counts under valgrind (scripts/count-create-token): on a noisy machine, instructions per
// operation are exact where times are not. Everything is fixed — keys (the test vectors),
// challenge randomness, clock — so two runs differing only in N give the exact count of one
// operation. A plain synchronous main: the async main's signal wait does not run under
// valgrind.
//
//   CreateTokenCount v1|v2|raw-v1|raw-v2|validate N

let arguments = CommandLine.arguments
guard arguments.count == 3, let iterations = Int(arguments[2]) else {
    FileHandle.standardError.write(Data("usage: CreateTokenCount v1|v2|raw-v1|raw-v2|validate N\n".utf8))
    exit(2)
}
let mode = arguments[1]
let done = DispatchSemaphore(value: 0)
Task.detached {
    do {
        try await run(mode: mode, iterations: iterations)
    } catch {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        exit(1)
    }
    done.signal()
}
done.wait()

struct Failure: Error, CustomStringConvertible {
    let description: String
}

func run(mode: String, iterations: Int) async throws {
    let now: UInt64 = 1_800_000_000
    let vectors = URL(filePath: #filePath).deletingLastPathComponent().appending(path: "../../../Tests/CRTAuthTests/Vectors")
    let rsa = try SSHPrivateKey(fileContents: String(contentsOf: vectors.appending(path: "test_key.pem"), encoding: .utf8))
    let ed = try SSHPrivateKey(fileContents: String(contentsOf: vectors.appending(path: "rfc8037_ed25519"), encoding: .utf8))
    let provider = InMemoryKeyProvider(keys: ["alice": [rsa.publicKey, ed.publicKey]])
    let server = try AuthServer(
        configuration: .init(serverName: "bench.example.com", secrets: [SymmetricKey(data: Array("benchmark-secret".utf8))], tokenFormat: .v1),
        keyProvider: provider, random: { [UInt8](repeating: 7, count: $0) })
    let version: CRTAuthVersion = mode.hasSuffix("v1") ? .v1 : .v2
    guard case .success(let challenge) = try await server.createChallenge(for: CRTAuthRequest(username: "alice", version: version), now: now) else {
        throw Failure(description: "no challenge")
    }
    let response = try await CRTAuthClientResponder.respond(to: challenge.encoded, serverName: "bench.example.com", signers: [version == .v1 ? rsa : ed]).encoded
    let signature = try CRTAuthResponse(decoding: response).signature
    var ok = true
    switch mode {
    case "v1", "v2":
        for _ in 0..<iterations {
            if case .success = try await server.createToken(response: response, now: now + 1) {} else { ok = false }
        }
    case "raw-v1":
        let key = try _RSA.Signing.PublicKey(pemRepresentation: rsa.publicKey.spkiPEM)
        let signed = Array(challenge.signedBytes)
        for _ in 0..<iterations {
            ok = key.isValidSignature(_RSA.Signing.RSASignature(rawRepresentation: signature), for: Insecure.SHA1.hash(data: signed), padding: .insecurePKCS1v1_5) && ok
        }
    case "raw-v2":
        let sshsig = try SSHSig(wireBlob: signature)
        let signed = SSHSigSignedData(message: challenge.bytes, namespace: sshsig.namespace, hashAlgorithm: .sha512).bytes
        let key = try Curve25519.Signing.PublicKey(rawRepresentation: ed.publicKey.wireBlob.suffix(32))
        let raw = sshsig.signature.rawSignature
        for _ in 0..<iterations { ok = key.isValidSignature(raw, for: signed) && ok }
    case "validate":
        let token = server.issueToken(for: "alice", now: now).encoded
        for _ in 0..<iterations {
            if case .success = try server.validateToken(token, now: now + 1) {} else { ok = false }
        }
    default:
        throw Failure(description: "unknown mode \(mode)")
    }
    guard ok else { throw Failure(description: "an operation failed") }
}
