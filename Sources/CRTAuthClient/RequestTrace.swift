import AsyncHTTPClient
import Foundation
import NIOHTTP1

/// The request and response heads as `curl -v` shows them (`> ` and `< ` lines), with every
/// credential's value replaced by `<redacted>`: a trace is pasted into tickets and chats.
enum RequestTrace {
    /// Fields whose values authenticate (or are a crtauth message: a token, a signed response).
    static let credentialFields: Set<String> = [
        "authorization", "proxy-authorization", "cookie", "set-cookie", "x-chap", "signature", "x-signatures",
    ]

    static func request(_ request: HTTPClientRequest, to trace: (String) -> Void) {
        let components = URLComponents(string: request.url)
        var target = components?.percentEncodedPath ?? "/"
        if target.isEmpty { target = "/" }
        if let query = components?.percentEncodedQuery { target += "?" + query }
        trace("> \(request.method.rawValue) \(target) HTTP/1.1")
        if !request.headers.contains(name: "Host"), let host = components?.host {
            trace("> Host: \(host.contains(":") ? "[\(host)]" : host)\(components?.port.map { ":\($0)" } ?? "")")
        }
        for (name, value) in request.headers { trace("> \(name): \(Self.shown(name, value))") }
        trace(">")
    }

    static func response(_ response: HTTPClientResponse, to trace: (String) -> Void) {
        trace("< \(response.version) \(response.status.code) \(response.status.reasonPhrase)")
        for (name, value) in response.headers { trace("< \(name): \(Self.shown(name, value))") }
        trace("<")
    }

    static func shown(_ name: String, _ value: String) -> String {
        Self.credentialFields.contains(name.lowercased()) ? "<redacted>" : value
    }
}
