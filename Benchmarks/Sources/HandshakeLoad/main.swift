import AsyncHTTPClient
import CRTAuth
import Foundation
import SSHKeys

// Prepares a crtauth handshake load for wrk: asks COUNT challenges of the server and signs
// them, so that the measured rates are the server's alone (an RSA signature costs the client
// far more than the server's whole handshake, and both share this machine's two cores).
//   HandshakeLoad URL USER KEY_FILE VERSION COUNT
// KEY_FILE: an unencrypted OpenSSH private key the server knows for USER. VERSION: 0, 1 or 2.
// Prints `request VALUE` (the X-CHAP request for USER), then COUNT lines `response VALUE`.
// The responses stay valid for the challenges' 20 seconds; servers answer each of them with a
// token as often as it is sent (crtauth is stateless), so wrk can cycle through them.

struct LoadError: Error, CustomStringConvertible { let description: String }

func prepare(url: String, user: String, key: SSHPrivateKey, version: CRTAuthVersion, count: Int) async throws -> [String] {
    let client = HTTPClient(eventLoopGroupProvider: .singleton)
    defer { _ = client.shutdown() }
    let serverName = URL(string: url)?.host ?? "127.0.0.1"
    let request = CRTAuthRequest(username: user, version: version).encoded
    var lines = ["request " + request]
    for _ in 0..<count {
        var outbound = HTTPClientRequest(url: url)
        outbound.headers.add(name: "X-CHAP", value: "request:" + request)
        let response = try await client.execute(outbound, timeout: .seconds(30))
        _ = try await response.body.collect(upTo: 1 << 16)
        guard response.status == .ok, let header = response.headers.first(name: "X-CHAP"), header.hasPrefix("challenge:") else {
            throw LoadError(description: "the server answered \(response.status) without a challenge")
        }
        let answer = try await CRTAuthClientResponder.respond(to: String(header.dropFirst("challenge:".count)), serverName: serverName, signers: [key])
        lines.append("response " + answer.encoded)
    }
    return lines
}

let arguments = CommandLine.arguments
guard arguments.count == 6, let version = UInt8(arguments[4]), version <= 2, let count = Int(arguments[5]) else {
    FileHandle.standardError.write(Data("usage: HandshakeLoad URL USER KEY_FILE VERSION COUNT\n".utf8))
    exit(2)
}
let url = arguments[1], user = arguments[2]
let key = try SSHPrivateKey(fileContents: try String(contentsOfFile: arguments[3], encoding: .utf8), passphrase: nil)
let outcome: Result<[String], any Error> = await Task.detached {
    do { return .success(try await prepare(url: url, user: user, key: key, version: version == 0 ? .v0 : version == 1 ? .v1 : .v2, count: count)) } catch { return .failure(error) }
}.value
switch outcome {
case .success(let lines): print(lines.joined(separator: "\n"))
case .failure(let error):
    FileHandle.standardError.write(Data("HandshakeLoad: \(error)\n".utf8))
    exit(1)
}
