import AsyncHTTPClient
import CRTAuth
import Foundation
import SSHKeys

// Full crtauth handshakes against a server, to measure how many it completes per second.
//   HandshakeLoad URL USER KEY_FILE VERSION COUNT CONCURRENCY
// KEY_FILE: an unencrypted OpenSSH private key the server knows for USER. VERSION: 0, 1 or 2.
// Phase 1 asks COUNT challenges, phase 2 signs them (not timed: signing is the client's
// work, and an RSA signature costs far more than the server's whole handshake), phase 3
// sends the COUNT responses. Both timed phases run COUNT requests with CONCURRENCY in flight.
// Prints: handshakes-per-second N (challenges N/s, tokens N/s)

let arguments = CommandLine.arguments
guard arguments.count == 7, let version = UInt8(arguments[4]), let count = Int(arguments[5]), let concurrency = Int(arguments[6]) else {
    FileHandle.standardError.write(Data("usage: HandshakeLoad URL USER KEY_FILE VERSION COUNT CONCURRENCY\n".utf8))
    exit(2)
}
let url = arguments[1], user = arguments[2]
let key = try SSHPrivateKey(fileContents: try String(contentsOfFile: arguments[3], encoding: .utf8), passphrase: nil)
let crtauthVersion: CRTAuthVersion = version == 0 ? .v0 : version == 1 ? .v1 : .v2
let serverName = URL(string: url)?.host ?? "127.0.0.1"
let client = HTTPClient(eventLoopGroupProvider: .singleton)

struct LoadError: Error, CustomStringConvertible { let description: String }

func exchange(_ value: String, expecting method: String) async throws -> String {
    var request = HTTPClientRequest(url: url)
    request.headers.add(name: "X-CHAP", value: value)
    let response = try await client.execute(request, timeout: .seconds(30))
    _ = try await response.body.collect(upTo: 1 << 16)
    guard response.status == .ok, let header = response.headers.first(name: "X-CHAP"), header.hasPrefix(method + ":") else {
        throw LoadError(description: "the server answered \(response.status) without X-CHAP \(method)")
    }
    return String(header.dropFirst(method.count + 1))
}

/// Runs `body` for 0..<count with `concurrency` in flight; returns the results in order and the seconds taken.
func timed<T: Sendable>(_ count: Int, _ body: @escaping @Sendable (Int) async throws -> T) async throws -> ([T], Double) {
    let start = ContinuousClock.now
    let results = try await withThrowingTaskGroup(of: (Int, T).self) { group in
        var results = [T?](repeating: nil, count: count)
        var next = 0
        for _ in 0..<min(concurrency, count) {
            let index = next
            group.addTask { (index, try await body(index)) }
            next += 1
        }
        while let (index, value) = try await group.next() {
            results[index] = value
            if next < count {
                let index = next
                group.addTask { (index, try await body(index)) }
                next += 1
            }
        }
        return results.map { $0! }
    }
    let elapsed = ContinuousClock.now - start
    return (results, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
}

do {
    let request = CRTAuthRequest(username: user, version: crtauthVersion).encoded
    let (challenges, challengeSeconds) = try await timed(count) { _ in try await exchange("request:" + request, expecting: "challenge") }
    var responses: [String] = []
    for challenge in challenges {
        responses.append(try await CRTAuthClientResponder.respond(to: challenge, serverName: serverName, signers: [key]).encoded)
    }
    let signed = responses
    let (_, tokenSeconds) = try await timed(count) { index in try await exchange("response:" + signed[index], expecting: "token") }
    let rate = Double(count) / (challengeSeconds + tokenSeconds)
    print("handshakes-per-second \(Int(rate)) (challenges \(Int(Double(count) / challengeSeconds))/s, tokens \(Int(Double(count) / tokenSeconds))/s)")
} catch {
    FileHandle.standardError.write(Data("HandshakeLoad: \(error)\n".utf8))
    try? await client.shutdown()
    exit(1)
}
try await client.shutdown()
