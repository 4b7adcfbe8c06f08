import AsyncHTTPClient
import CRTAuthClient
import Foundation
import NIOCore
import NIOHTTP1

/// `crtauth curl -L`: redirects followed as curl follows them, with one rule for credentials —
/// they go only to the origin (scheme, host, port) of the URL the user typed. A request
/// redirected elsewhere is sent with no crtauth credential and without the user's own
/// `Authorization`, `Cookie` and `Proxy-Authorization` headers; one redirected back is
/// authenticated again.
enum Redirects {
    /// Most redirects followed (curl's `--max-redirs` default is 50; 10 is plenty for an API).
    static let maximum = 10
    /// curl's exit code for too many redirects.
    static let tooManyExitCode: Int32 = 47
    /// Largest redirect body read (and dropped) before the next request.
    static let maximumDiscardedBody = 64 * 1024
    static let statuses: Set<UInt> = [301, 302, 303, 307, 308]
    static let credentialFields = ["Authorization", "Proxy-Authorization", "Cookie"]

    struct Followed: Sendable {
        /// The URL that gave the final answer.
        var url: String
        var count: Int
    }

    struct Origin: Equatable {
        let scheme: String
        let host: String
        let port: Int

        init?(_ url: String) {
            guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(), let host = components.host?.lowercased() else { return nil }
            self.scheme = scheme
            self.host = host
            self.port = components.port ?? (scheme == "https" ? 443 : 80)
        }
    }

    static func execute(_ request: HTTPClientRequest, body: ByteBuffer?, client: CRTAuthClient, follow: Bool) async throws -> (HTTPClientResponse, Followed) {
        let origin = Origin(request.url)
        var current = request
        var currentBody = body
        var count = 0
        while true {
            let response = Origin(current.url) == origin
                ? try await client.execute(current, body: currentBody)
                : try await client.executeWithoutCredentials(current, body: currentBody)
            guard follow, Self.statuses.contains(response.status.code), let location = response.headers.first(name: "Location") else {
                return (response, Followed(url: current.url, count: count))
            }
            guard count < Self.maximum else {
                throw CLIFailure(message: "stopped after \(Self.maximum) redirects (the last to \(location))", code: Self.tooManyExitCode)
            }
            guard let next = URL(string: location, relativeTo: URL(string: current.url))?.absoluteURL,
                  let scheme = next.scheme?.lowercased(), scheme == "http" || scheme == "https", next.host != nil else {
                throw CLIFailure(message: "refused to follow a redirect to '\(location.prefix(200))': only http:// and https:// URLs are followed")
            }
            _ = try? await response.body.collect(upTo: Self.maximumDiscardedBody)
            count += 1
            var redirected = HTTPClientRequest(url: next.absoluteString)
            redirected.headers = current.headers
            // 303 always, and 301/302 after a POST, become a GET without a body (as curl and browsers do).
            if response.status.code == 303 || (current.method == .POST && [301, 302].contains(response.status.code)) {
                redirected.method = current.method == .HEAD ? .HEAD : .GET
                currentBody = nil
                for name in ["Content-Type", "Content-Length"] { redirected.headers.remove(name: name) }
            } else {
                redirected.method = current.method
            }
            if Origin(redirected.url) != origin {
                for name in Self.credentialFields { redirected.headers.remove(name: name) }
            }
            current = redirected
        }
    }
}
