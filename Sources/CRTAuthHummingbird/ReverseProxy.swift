import AsyncHTTPClient
import AuthCore
import CRTAuth
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdAuth
import Logging
import NIOCore
import NIOHTTP1

/// Forwards authenticated requests to an upstream HTTP server: method, path, query, headers and
/// streaming bodies in both directions. Hop-by-hop headers (RFC 9110 §7.6.1) are dropped both
/// ways; `X-Authenticated-User`, `-Key` and `-Scheme` are set from the identity, and any copy
/// of them the client sent is removed. The crtauth token itself is not passed on.
public struct ReverseProxy: Sendable {
    /// The headers the gateway sets for the upstream; a client's own copies are dropped.
    public static let identityHeaders: [HTTPField.Name] = [
        HTTPField.Name("X-Authenticated-User")!, HTTPField.Name("X-Authenticated-Key")!, HTTPField.Name("X-Authenticated-Scheme")!,
    ]
    static let hopByHop: Set<String> = ["connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade", "host"]

    let base: String
    let client: HTTPClient
    let logger: Logger

    /// - Parameter upstream: `http://host[:port][/base]` or `https://…`.
    public init(upstream: String, client: HTTPClient, logger: Logger) throws {
        guard let url = URL(string: upstream), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https", url.host != nil,
              url.query == nil, url.fragment == nil else {
            throw ReverseProxyError("the upstream must be an http:// or https:// URL without query or fragment, like http://127.0.0.1:9000")
        }
        self.base = upstream.hasSuffix("/") ? String(upstream.dropLast()) : upstream
        self.client = client
        self.logger = logger
    }

    /// Sends `request` upstream on behalf of `identity` (none for a path served without
    /// credentials) and streams the answer back.
    public func forward(_ request: Request, identity: AuthenticatedIdentity?, peer: SocketAddress?) async -> Response {
        var target = request.uri.string
        if !target.hasPrefix("/") { target = "/" + target }
        var outbound = HTTPClientRequest(url: self.base + target)
        outbound.method = HTTPMethod(rawValue: request.method.rawValue)
        let dropped = Self.droppedHeaders(request.headers)
        for field in request.headers where !dropped.contains(field.name.canonicalName) {
            // The credential stays here: a token (chap) or a JWT is of no use upstream.
            if identity?.scheme.usesAuthorizationHeader == true && field.name == .authorization { continue }
            outbound.headers.add(name: field.name.rawName, value: field.value)
        }
        if let identity {
            outbound.headers.add(name: "X-Authenticated-User", value: identity.username)
            if let key = identity.keyFingerprint { outbound.headers.add(name: "X-Authenticated-Key", value: key) }
            outbound.headers.add(name: "X-Authenticated-Scheme", value: identity.scheme.name)
        }
        if let peer, let address = peer.ipAddress {
            let prior = request.headers[.init("X-Forwarded-For")!]
            outbound.headers.replaceOrAdd(name: "X-Forwarded-For", value: prior.map { $0 + ", " + address } ?? address)
        }
        if let host = request.head.authority { outbound.headers.replaceOrAdd(name: "X-Forwarded-Host", value: host) }
        if request.method != .get && request.method != .head {
            let length = request.headers[.contentLength].flatMap { Int64($0) }
            outbound.body = .stream(request.body, length: length.map { .known($0) } ?? .unknown)
        }
        do {
            let upstream = try await self.client.execute(outbound, deadline: .distantFuture, logger: self.logger)
            var headers = HTTPFields()
            let droppedBack = Self.droppedHeaders(upstream.headers)
            for (name, value) in upstream.headers where !droppedBack.contains(name.lowercased()) {
                if let fieldName = HTTPField.Name(name) { headers.append(HTTPField(name: fieldName, value: value)) }
            }
            let status = HTTPResponse.Status(code: Int(upstream.status.code), reasonPhrase: upstream.status.reasonPhrase)
            if request.method == .head { return Response(status: status, headers: headers) }
            return Response(status: status, headers: headers, body: ResponseBody(asyncSequence: upstream.body))
        } catch {
            self.logger.warning("upstream request failed", metadata: ["error": .string("\(error)")])
            var buffer = ByteBuffer()
            buffer.writeString("Bad Gateway: the upstream did not answer\n")
            return Response(status: .badGateway, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: buffer))
        }
    }

    /// Hop-by-hop names plus those listed in `Connection`, plus the identity headers, lower-cased.
    static func droppedHeaders(_ headers: HTTPFields) -> Set<String> {
        var names = Self.hopByHop.union(Self.identityHeaders.map(\.canonicalName))
        for value in headers[values: .connection] {
            for name in value.split(separator: ",") { names.insert(name.trimmingCharacters(in: .whitespaces).lowercased()) }
        }
        return names
    }

    static func droppedHeaders(_ headers: HTTPHeaders) -> Set<String> {
        // A chunked answer is re-framed by our server; its length header, if any, is a lie.
        var names = headers["transfer-encoding"].isEmpty ? Self.hopByHop : Self.hopByHop.union(["content-length"])
        for value in headers["connection"] {
            for name in value.split(separator: ",") { names.insert(name.trimmingCharacters(in: .whitespaces).lowercased()) }
        }
        return names
    }
}

/// A reverse proxy configuration error.
public struct ReverseProxyError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}
