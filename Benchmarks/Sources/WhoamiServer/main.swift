import AuthCore
import CRTAuth
import CRTAuthHummingbird
import Crypto
import Foundation
import Hummingbird
import Logging

// The gateway's /whoami, with crtauth switched on or off, for measuring what authentication
// costs per request: the same router, metrics middleware and handler as `crtauth serve`, the
// only difference being CRTAuthMiddleware.
//   WhoamiServer on|off SECRET_BASE64 PORT_FILE
// Prints nothing; writes the port it listens on (loopback, ephemeral) to PORT_FILE.

let arguments = CommandLine.arguments
guard arguments.count == 4, let secret = Data(base64Encoded: arguments[2]) else {
    FileHandle.standardError.write(Data("usage: WhoamiServer on|off SECRET_BASE64 PORT_FILE\n".utf8))
    exit(2)
}
let authenticate = arguments[1] == "on"
var logger = Logger(label: "whoami")
logger.logLevel = .warning

let server = AuthServerReference(try AuthServer(configuration: .init(serverName: "127.0.0.1", secrets: [SymmetricKey(data: secret)], tokenFormat: .v0), keyProvider: InMemoryKeyProvider()))
let router = Router(context: CRTAuthRequestContext.self)
router.add(middleware: MetricsMiddleware())
if authenticate {
    router.add(middleware: CRTAuthMiddleware(server: server, logger: logger))
}
struct WhoAmI: ResponseEncodable {
    let user: String
    let key: String?
    let scheme: String
}
router.get("/whoami") { _, context -> WhoAmI in
    guard authenticate else { return WhoAmI(user: "alice", key: nil, scheme: "none") }
    let identity = try context.requireIdentity()
    return WhoAmI(user: identity.username, key: identity.keyFingerprint, scheme: identity.scheme.name)
}
let portFile = arguments[3]
let app = Application(
    router: router,
    configuration: .init(address: .hostname("127.0.0.1", port: 0)),
    onServerRunning: { channel in
        try? String(channel.localAddress?.port ?? 0).write(toFile: portFile, atomically: true, encoding: .utf8)
    },
    logger: logger
)
try await app.runService()
