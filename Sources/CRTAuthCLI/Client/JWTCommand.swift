import ArgumentParser
import CRTAuthClient
import CRTAuthJWT
import Foundation

/// `crtauth jwt`: one asymmetric_jwt_auth token, for curl or any HTTP tool.
struct JWTCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jwt",
        abstract: "Print an Authorization value 'JWT <token>' as asymmetric_jwt_auth makes it.",
        discussion: """
            Signs with the first Ed25519, ECDSA or RSA key in ssh-agent (or --identity): EdDSA, ES256/ES384 or \
            RS512. The token holds the user, the time and a fresh nonce, so it is good for one request within \
            20 seconds: curl -H "Authorization: $(crtauth jwt --user alice)" URL
            """
    )
    @Option(name: .customLong("user"), help: "Who to authenticate as. Default: CRTAUTH_USER, else USER.") var user: String?
    @Option(name: .customLong("identity"), help: "A private key file to sign with instead of ssh-agent (PEM or OpenSSH format).") var identity: String?
    @Flag(name: .customLong("token-only"), help: "Print the token without the 'JWT ' scheme.") var tokenOnly = false

    func run() async throws {
        try await reportingErrors {
            let user = try resolveUser(self.user)
            do {
                let signers = try await signerSource(identity: self.identity).signers()
                guard let signer = signers.first(where: { AsymmetricJWT.Algorithm.preferred(for: $0.publicKey.type) != nil }) else {
                    throw CRTAuthClientError(.noUsableKey, "none of the keys can sign a JWT: use an Ed25519, ECDSA P-256/P-384 or RSA key")
                }
                let token = try await AsymmetricJWT.token(username: user, signer: signer, time: UInt64(Date().timeIntervalSince1970))
                print(self.tokenOnly ? token : "\(AsymmetricJWT.scheme) \(token)")
            } catch let error as CRTAuthClientError {
                printError(error.message)
                throw ExitCode(ClientExit.authentication)
            }
        }
    }
}
