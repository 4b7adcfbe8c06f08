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

struct LoadError: Error, CustomStringConvertible { let description: String }

struct HandshakeLoad: Sendable {
    let url: String
    let concurrency: Int
    let client: HTTPClient

    func exchange(_ value: String, expecting method: String) async throws -> String {
        var request = HTTPClientRequest(url: self.url)
        request.headers.add(name: "X-CHAP", value: value)
        let response = try await self.client.execute(request, timeout: .seconds(30))
        _ = try await response.body.collect(upTo: 1 << 16)
        guard response.status == .ok, let header = response.headers.first(name: "X-CHAP"), header.hasPrefix(method + ":") else {
            throw LoadError(description: "the server answered \(response.status) without X-CHAP \(method)")
        }
        return String(header.dropFirst(method.count + 1))
    }

    /// Runs `body` for 0..<count with `concurrency` in flight; returns the results in order and the seconds taken.
    func timed<T: Sendable>(_ count: Int, _ body: @escaping @Sendable (Int) async throws -> T) async throws -> ([T], Double) {
        let concurrency = self.concurrency
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
            return results.compactMap { $0 }
        }
        let elapsed = ContinuousClock.now - start
        return (results, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
    }

    func run(user: String, key: SSHPrivateKey, version: CRTAuthVersion, count: Int) async throws -> String {
        let serverName = URL(string: self.url)?.host ?? "127.0.0.1"
        let request = CRTAuthRequest(username: user, version: version).encoded
        let (challenges, challengeSeconds) = try await self.timed(count) { _ in try await self.exchange("request:" + request, expecting: "challenge") }
        var responses: [String] = []
        for challenge in challenges {
            responses.append(try await CRTAuthClientResponder.respond(to: challenge, serverName: serverName, signers: [key]).encoded)
        }
        let signed = responses
        let (_, tokenSeconds) = try await self.timed(count) { index in try await self.exchange("response:" + signed[index], expecting: "token") }
        let rate = Double(count) / (challengeSeconds + tokenSeconds)
        return "handshakes-per-second \(Int(rate)) (challenges \(Int(Double(count) / challengeSeconds))/s, tokens \(Int(Double(count) / tokenSeconds))/s)"
    }
}

let arguments = CommandLine.arguments
guard arguments.count == 7, let version = UInt8(arguments[4]), let count = Int(arguments[5]), let concurrency = Int(arguments[6]) else {
    FileHandle.standardError.write(Data("usage: HandshakeLoad URL USER KEY_FILE VERSION COUNT CONCURRENCY\n".utf8))
    exit(2)
}
let key = try SSHPrivateKey(fileContents: try String(contentsOfFile: arguments[3], encoding: .utf8), passphrase: nil)
let load = HandshakeLoad(url: arguments[1], concurrency: concurrency, client: HTTPClient(eventLoopGroupProvider: .singleton))
let user = arguments[2]
let outcome: Result<String, any Error> = await Task.detached {
    let result: Result<String, any Error>
    do { result = .success(try await load.run(user: user, key: key, version: version == 0 ? .v0 : version == 1 ? .v1 : .v2, count: count)) } catch { result = .failure(error) }
    try? await load.client.shutdown()
    return result
}.value
switch outcome {
case .success(let line): print(line)
case .failure(let error):
    FileHandle.standardError.write(Data("HandshakeLoad: \(error)\n".utf8))
    exit(1)
}
