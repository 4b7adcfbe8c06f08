import ArgumentParser

@main
struct CRTAuthCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crtauth",
        abstract: "Public-key authentication for HTTP APIs with the SSH keys you already have.",
        version: crtauthVersion,
        subcommands: [ServeCommand.self, KeysCommand.self, LoginCommand.self, LogoutCommand.self, StatusCommand.self, TokenCommand.self, CurlCommand.self, JWTCommand.self, FingerprintCommand.self, SignCommand.self, VerifyCommand.self, AgentCommand.self, DecodeCommand.self]
    )
}
