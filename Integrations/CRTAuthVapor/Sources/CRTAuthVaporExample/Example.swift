// crtauth-vapor-example: a Vapor application behind CRTAuthVaporMiddleware.
//   crtauth-vapor-example --listen HOST:PORT --server-name NAME --keys DIR [--secret-file F]
//                         [--schemes chap,jwt,signature,serveradmin]
// DIR/<user>.pub holds that user's keys in authorized_keys form (any key types, several lines),
// loaded into the in-memory store at start. Serves GET /whoami (JSON: user, scheme, key) and
// the crtauth handshake at /_auth. Prints "listening on http://HOST:PORT" once it listens.
import AuthCore
import CRTAuth
import CRTAuthJWT
import CRTAuthSignatures
import CRTAuthVapor
import Crypto
import Foundation
import SSHKeys
import Vapor

struct Options {
    var host = "127.0.0.1"
    var port = 8080
    var serverName = "127.0.0.1"
    var keys: String?
    var secretFile: String?
    var schemes = ["chap"]

    init(_ arguments: [String]) throws {
        var rest = arguments[...]
        while let flag = rest.popFirst() {
            guard let value = rest.popFirst() else { throw ExampleError("\(flag) needs a value") }
            switch flag {
            case "--listen":
                guard let colon = value.lastIndex(of: ":"), let port = Int(value[value.index(after: colon)...]) else { throw ExampleError("--listen takes HOST:PORT") }
                (self.host, self.port) = (String(value[..<colon]), port)
            case "--server-name": self.serverName = value
            case "--keys": self.keys = value
            case "--secret-file": self.secretFile = value
            case "--schemes": self.schemes = value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            default: throw ExampleError("unknown option \(flag)")
            }
        }
    }
}

struct ExampleError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Every `<user>.pub` of `directory`, parsed as authorized_keys lines, in a store of their own.
func loadKeys(_ directory: String) throws -> InMemoryKeyStore {
    let store = InMemoryKeyStore()
    var entries: [(username: String, key: AuthorizedKey)] = []
    for name in try FileManager.default.contentsOfDirectory(atPath: directory).sorted() where name.hasSuffix(".pub") {
        let text = try String(contentsOfFile: directory + "/" + name, encoding: .utf8)
        entries += try AuthorizedKeys.parse(text).map { (String(name.dropLast(4)), $0) }
    }
    try store.add(entries, now: UInt64(max(0, Date().timeIntervalSince1970)))
    return store
}

/// The first base64 line of the secret file, or a fresh random secret.
func loadSecret(_ path: String?) throws -> SymmetricKey {
    guard let path else { return SymmetricKey(size: .bits256) }
    let text = try String(contentsOfFile: path, encoding: .utf8)
    guard let line = text.split(whereSeparator: \.isNewline).first, let bytes = Data(base64Encoded: String(line)), bytes.count >= 16 else {
        throw ExampleError("\(path): the first line must be a base64 secret of at least 16 bytes")
    }
    return SymmetricKey(data: bytes)
}

struct WhoAmI: Content {
    let user: String
    let scheme: String
    let key: String?
}

@main
enum Example {
    static func main() async {
        do {
            let options = try Options(Array(CommandLine.arguments.dropFirst()))
            guard let keyDirectory = options.keys else { throw ExampleError("--keys DIR is required") }
            let keys = try loadKeys(keyDirectory)
            let server = try AuthServer(configuration: .init(serverName: options.serverName, secrets: [try loadSecret(options.secretFile)]), keyProvider: keys)
            let nonces = InMemoryNonceStore()
            var authenticators: [any AuthCore.RequestAuthenticator] = []
            for scheme in options.schemes {
                switch scheme {
                case "chap": authenticators.append(ChapTokenAuthenticator(server: { server }))
                case "jwt": authenticators.append(JWTAuthenticator(keys: keys, nonces: nonces))
                case "signature": authenticators.append(HTTPSignatureAuthenticator(keys: keys, nonces: nonces))
                case "serveradmin": authenticators.append(ServeradminAuthenticator(keys: keys, nonces: nonces))
                default: throw ExampleError("unknown scheme \(scheme): chap, jwt, signature or serveradmin")
                }
            }

            let app = try await Application.make(Environment(name: "production", arguments: ["crtauth-vapor-example"]))
            app.middleware.use(CRTAuthVaporMiddleware(server: { server }, authenticators: authenticators))
            app.get("whoami") { request async throws -> WhoAmI in
                let identity = try request.auth.require(AuthenticatedIdentity.self)
                return WhoAmI(user: identity.username, scheme: identity.scheme.name, key: identity.keyFingerprint)
            }
            app.post("whoami") { request async throws -> WhoAmI in
                let identity = try request.auth.require(AuthenticatedIdentity.self)
                return WhoAmI(user: identity.username, scheme: identity.scheme.name, key: identity.keyFingerprint)
            }
            try await app.server.start(address: .hostname(options.host, port: options.port))
            let port = app.http.server.shared.localAddress?.port ?? options.port
            FileHandle.standardOutput.write(Data("crtauth-vapor-example: listening on http://\(options.host):\(port)\n".utf8))
            // Serve until the process is told to stop.
            while true { try await Task.sleep(for: .seconds(3600)) }
        } catch {
            FileHandle.standardError.write(Data("crtauth-vapor-example: \(error)\n".utf8))
            exit(1)
        }
    }
}
