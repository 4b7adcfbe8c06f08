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
import Synchronization

/// Forwards authenticated requests to an upstream HTTP server: method, path, query, headers and
/// streaming bodies in both directions. Hop-by-hop headers (RFC 9110 §7.6.1) are dropped both
/// ways; `X-Authenticated-User`, `-Key` and `-Scheme` are set from the identity, and any copy
/// of them the client sent is removed. The crtauth token itself is not passed on.
///
/// `X-Forwarded-For`, `-Proto`, `-Host` and `Forwarded` (RFC 7239) are set from the connection:
/// a client's own copies are replaced, and extended only when the peer is a trusted proxy.
/// `Via` gains this hop. An upstream that cannot be reached is a 502; one that does not answer
/// with its response head in time, a 504.
public struct ReverseProxy: Sendable {
    public struct Configuration: Sendable {
        /// Peers whose forwarding headers are extended; anyone else's are replaced.
        public var trustedProxies: [NetworkRange]
        /// How clients reach this proxy (`X-Forwarded-Proto`, `Forwarded: proto=`).
        public var clientScheme: String
        /// How long the upstream may take to send its response head.
        public var responseTimeout: Duration
        /// Longest request body passed on: a longer announced one is a 413 before the upstream
        /// is asked; a longer streamed one is cut off and answered 413.
        public var maximumBodyLength: Int64

        public init(trustedProxies: [NetworkRange] = [], clientScheme: String = "http", responseTimeout: Duration = .seconds(60), maximumBodyLength: Int64 = 10 << 20) {
            self.trustedProxies = trustedProxies
            self.clientScheme = clientScheme
            self.responseTimeout = responseTimeout
            self.maximumBodyLength = maximumBodyLength
        }
    }

    /// The headers the gateway sets for the upstream; a client's own copies are dropped.
    public static let userHeader = HTTPField.Name("X-Authenticated-User")!
    public static let keyHeader = HTTPField.Name("X-Authenticated-Key")!
    public static let schemeHeader = HTTPField.Name("X-Authenticated-Scheme")!
    public static let identityHeaders: [HTTPField.Name] = [userHeader, keyHeader, schemeHeader]

    /// The identity as header fields: the user, the key's fingerprint when the request proved
    /// one, the scheme. Sent upstream and answered by `/_auth/check`.
    public static func identityFields(_ identity: AuthenticatedIdentity) -> [(name: HTTPField.Name, value: String)] {
        var fields = [(name: Self.userHeader, value: identity.username)]
        if let key = identity.keyFingerprint { fields.append((Self.keyHeader, key)) }
        fields.append((Self.schemeHeader, identity.scheme.name))
        return fields
    }

    static let hopByHop: Set<String> = ["connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade", "host"]
    static let hopByHopNames = FieldNameSet(hopByHop)
    private static let close = FieldNameSet(["close"])
    /// Set by this proxy from the connection; a client's copies count only from a trusted proxy.
    static let forwardingFieldNames = ["X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "Forwarded"]
    static let forwarding = Set(forwardingFieldNames.map { $0.lowercased() })
    /// The same, in that order.
    static let forwardingNames = FieldNameSet(forwardingFieldNames.map { $0.lowercased() })
    /// Methods whose requests carry no body unless they say so (Content-Length, Transfer-Encoding).
    static let bodilessUnlessAnnounced: Set<HTTPRequest.Method> = [.get, .head, .delete, .options, .trace]

    /// Where the upstream is, as given (`http://host:port/base`, no trailing slash).
    let base: String
    /// The same, taken apart, for connections made without the HTTP client.
    package let endpoint: Endpoint
    let client: HTTPClient
    package let logger: Logger
    package let configuration: Configuration

    /// The upstream's address, for connections made without the HTTP client (WebSocket tunnels).
    package struct Endpoint: Sendable {
        package let host: String
        package let port: Int
        package let secure: Bool
        /// The upstream URL's path, prepended to every request's (empty, or starting with `/`).
        package let basePath: String
        /// `Host` as the upstream expects it: the port only when it is not the scheme's default.
        package let authority: String

        init(host: String, port: Int, secure: Bool, basePath: String) {
            self.host = host
            self.port = port
            self.secure = secure
            self.basePath = basePath
            let name = host.utf8.contains(UInt8(ascii: ":")) ? "[\(host)]" : host
            self.authority = port == (secure ? 443 : 80) ? name : "\(name):\(port)"
        }
    }

    /// - Parameter upstream: `http://host[:port][/base]` or `https://…`.
    public init(upstream: String, client: HTTPClient, logger: Logger, configuration: Configuration = .init()) throws {
        guard let url = URL(string: upstream), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https", url.host != nil,
              url.query == nil, url.fragment == nil else {
            throw ReverseProxyError("the upstream must be an http:// or https:// URL without query or fragment, like http://127.0.0.1:9000")
        }
        self.base = upstream.hasSuffix("/") ? String(upstream.dropLast()) : upstream
        let secure = scheme == "https"
        let path = url.path(percentEncoded: true)
        self.endpoint = Endpoint(host: url.host(percentEncoded: false) ?? "", port: url.port ?? (secure ? 443 : 80), secure: secure,
                                 basePath: path.hasSuffix("/") ? String(path.dropLast()) : path)
        self.client = client
        self.logger = logger
        self.configuration = configuration
    }

    /// Sends `request` upstream on behalf of `identity` (none for a path served without
    /// credentials) and streams the answer back.
    public func forward(_ request: Request, identity: AuthenticatedIdentity?, peer: SocketAddress?) async -> Response {
        var target = request.uri.string
        if !target.hasPrefix("/") { target = "/" + target }
        var outbound = HTTPClientRequest(url: self.base + target)
        outbound.method = HTTPMethod(rawValue: request.method.rawValue)
        outbound.headers = self.upstreamHeaders(request.head, identity: identity, peer: peer)
        let length = request.headers[.contentLength].flatMap { Int64($0) }
        let maximum = self.configuration.maximumBodyLength
        if let length, length > maximum { return Self.text(.contentTooLarge, "Content Too Large: request bodies are limited to \(maximum) bytes") }
        let gate = ClientBodyGate()
        if request.method != .head, length.map({ $0 > 0 }) ?? (request.headers[.transferEncoding] != nil || !Self.bodilessUnlessAnnounced.contains(request.method)) {
            outbound.body = .stream(ClientBody(base: request.body, maximum: maximum, gate: gate), length: length.map { .known($0) } ?? .unknown)
        }
        let response: Response
        do {
            let timeout = self.configuration.responseTimeout.components
            let upstream = try await self.client.execute(outbound, timeout: .nanoseconds(timeout.seconds * 1_000_000_000 + timeout.attoseconds / 1_000_000_000), logger: self.logger)
            let headers = Self.passedBack(upstream.headers)
            let status = HTTPResponse.Status(code: Int(upstream.status.code), reasonPhrase: upstream.status.reasonPhrase)
            if request.method == .head {
                response = Response(status: status, headers: headers)
            } else {
                return Response(status: status, headers: headers, body: ResponseBody { writer in
                    do {
                        for try await buffer in upstream.body { try await writer.write(buffer) }
                    } catch {
                        await gate.close()
                        throw error
                    }
                    await gate.close()
                    try await writer.finish(nil)
                })
            }
        } catch ClientBodyError.tooLarge {
            response = Self.text(.contentTooLarge, "Content Too Large: request bodies are limited to \(maximum) bytes")
        } catch ClientBodyError.unreadable {
            response = Self.text(.badRequest, "Bad Request: the request body could not be read")
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout {
            self.logger.warning("upstream did not answer in time", metadata: ["timeout": .string("\(self.configuration.responseTimeout)")])
            response = Self.text(.gatewayTimeout, Self.gatewayTimeoutMessage)
        } catch {
            self.logger.warning("upstream request failed", metadata: ["error": .string("\(error)")])
            response = Self.text(.badGateway, Self.badGatewayMessage)
        }
        await gate.close()
        return response
    }

    /// The answers of a proxy whose upstream failed.
    package static let badGatewayMessage = "Bad Gateway: the upstream did not answer"
    package static let gatewayTimeoutMessage = "Gateway Timeout: the upstream did not answer in time"

    /// Who sent a request, as the forwarding fields tell it; the same for every request of a
    /// connection, so worth making once per connection.
    package struct Client: Sendable {
        /// The peer's address, if it has one.
        let address: String?
        /// `for=…` of `Forwarded` (RFC 7239 §6: an IPv6 address quoted in brackets).
        let forwardedFor: String?
        /// A trusted proxy: its forwarding fields are kept and extended.
        let trusted: Bool

        package init(peer: SocketAddress?, configuration: Configuration) {
            self.address = peer?.ipAddress
            self.forwardedFor = self.address.map { $0.utf8.contains(UInt8(ascii: ":")) ? "for=\"[\($0)]\"" : "for=" + $0 }
            self.trusted = peer.map { peer in configuration.trustedProxies.contains { $0.contains(peer) } } ?? false
        }
    }

    /// The header fields sent upstream for a request with head `request`: the client's, less
    /// hop-by-hop ones, the credential and forged identity or (from an untrusted peer)
    /// forwarding fields; plus the identity and this hop's forwarding fields. No `Host`: the
    /// upstream's is set by the sender.
    package func upstreamHeaders(_ request: HTTPRequest, identity: AuthenticatedIdentity?, peer: SocketAddress?) -> HTTPHeaders {
        self.upstreamHeaders(request, identity: identity, client: Client(peer: peer, configuration: self.configuration))
    }

    package func upstreamHeaders(_ request: HTTPRequest, identity: AuthenticatedIdentity?, client: Client) -> HTTPHeaders {
        var headers = HTTPHeaders()
        headers.reserveCapacity(16)
        self.addUpstreamFields(request.headerFields.lazy.map { ($0.name.rawName, $0.value) }, connection: request.headerFields[values: .connection],
                               authority: request.authority, identity: identity, client: client, to: &headers)
        return headers
    }

    /// The same from a request head in NIO's type (`Host` is the authority, and dropped).
    package func upstreamHeaders(_ head: HTTPRequestHead, identity: AuthenticatedIdentity?, client: Client) -> HTTPHeaders {
        var headers = HTTPHeaders()
        headers.reserveCapacity(16)
        self.addUpstreamFields(of: head, identity: identity, client: client, to: &headers)
        return headers
    }

    /// The same fields, added to `sink` (a request's wire form, for one).
    package func addUpstreamFields(of head: HTTPRequestHead, identity: AuthenticatedIdentity?, client: Client, to sink: inout some UpstreamFieldSink) {
        self.addUpstreamFields(head.headers.lazy.map { ($0.name, $0.value) }, connection: head.headers["connection"],
                               authority: head.headers.first(name: "host"), identity: identity, client: client, to: &sink)
    }

    /// `fields`: the request's, names as sent.
    func addUpstreamFields(_ fields: some Sequence<(String, String)>, connection: [String], authority: String?, identity: AuthenticatedIdentity?, client: Client,
                           to sink: inout some UpstreamFieldSink) {
        // The credential stays here: a token (chap) or a JWT is of no use upstream.
        let credential = identity?.scheme.usesAuthorizationHeader == true
        let dropped = switch (client.trusted, credential) {
        case (true, false): Self.droppedFromClients
        case (true, true): Self.droppedFromClientsWithCredential
        case (false, false): Self.droppedFromUntrustedClients
        case (false, true): Self.droppedFromUntrustedClientsWithCredential
        }
        let options = connection.isEmpty ? [] : Self.connectionOptions(connection, exceptDropped: true)
        // A trusted proxy's forwarding fields, by their place in `forwardingNames`: extended below.
        var prior: [[String]] = client.trusted ? [[], [], [], []] : []
        for (name, value) in fields where !dropped.contains(name) && (options.isEmpty || !options.contains(Self.lowercased(name))) {
            if client.trusted, let index = Self.forwardingNames.index(of: name) {
                prior[index].append(value)
            } else {
                sink.add(name: name, value: value)
            }
        }
        if let identity {
            for field in Self.identityFields(identity) { sink.add(name: field.name.rawName, value: field.value) }
        }
        self.addForwardingFields(prior: prior, authority: authority, client: client, to: &sink)
    }

    /// `X-Forwarded-For`, `-Proto`, `-Host`, `Forwarded` and `Via` for this hop. A trusted
    /// proxy's own (`prior`, by their place in `forwardingNames`) are extended — the address
    /// lists by this hop, `-Proto` and `-Host` kept as they were; anyone else's were dropped,
    /// so these are simply added.
    private func addForwardingFields(prior: [[String]], authority host: String?, client: Client, to sink: inout some UpstreamFieldSink) {
        let scheme = self.configuration.clientScheme
        func add(_ index: Int, _ value: String?, extending separator: String?) {
            let earlier = prior.isEmpty ? [] : prior[index]
            let name = Self.forwardingFieldNames[index]
            if earlier.isEmpty {
                if let value { sink.add(name: name, value: value) }
            } else if let separator, let value {
                sink.add(name: name, value: earlier.joined(separator: ", ") + separator + value)
            } else {
                for value in earlier { sink.add(name: name, value: value) }
            }
        }
        add(0, client.address, extending: ", ")
        add(1, scheme, extending: nil)
        add(2, host, extending: nil)
        var element = ""
        if let forwardedFor = client.forwardedFor { element += forwardedFor + ";" }
        if let host { element += "host=" + Self.forwardedValue(host) + ";" }
        element += "proto=" + scheme
        add(3, element, extending: ", ")
        sink.add(name: "Via", value: "1.1 crtauth")
    }

    /// A field name in lower case, without a new string when it is already (HTTP/2's always are).
    static func lowercased(_ name: String) -> String {
        name.utf8.contains { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") } ? name.lowercased() : name
    }

    /// A `Forwarded` value: a token as it stands, anything else quoted (RFC 7239 §4).
    static func forwardedValue(_ value: String) -> String {
        if value.utf8.allSatisfy(Self.isTokenByte) { return value }
        var quoted = [UInt8]()
        quoted.reserveCapacity(value.utf8.count + 4)
        quoted.append(UInt8(ascii: "\""))
        for byte in value.utf8 {
            if byte == UInt8(ascii: "\\") || byte == UInt8(ascii: "\"") { quoted.append(UInt8(ascii: "\\")) }
            quoted.append(byte)
        }
        quoted.append(UInt8(ascii: "\""))
        return String(decoding: quoted, as: UTF8.self)
    }

    /// RFC 9110 §5.6.2 `tchar`: visible ASCII but the delimiters `"(),/:;<=>?@[\]{}`.
    private static func isTokenByte(_ byte: UInt8) -> Bool {
        // Word `byte >> 6` of `tokenBits` has bit `byte & 63` set for a token byte.
        let (word, bit) = (Int(byte >> 6), UInt64(1) << UInt64(byte & 63))
        return word < 2 && Self.tokenBits[word] & bit != 0
    }

    private static let tokenBits: [UInt64] = {
        var bits: [UInt64] = [0, 0]
        for byte in UInt8(0x21)..<0x7F where !"\"(),/:;<=>?@[\\]{}".utf8.contains(byte) { bits[Int(byte >> 6)] |= 1 << UInt64(byte & 63) }
        return bits
    }()

    package static func text(_ status: HTTPResponse.Status, _ message: String) -> Response {
        Response(status: status, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: message + "\n")))
    }

    /// Lower-cased names of a client's fields never passed on: hop-by-hop ones and the identity
    /// headers (plus, each time, those its `Connection` lists).
    private static let alwaysDropped = hopByHop.union(identityHeaders.map(\.canonicalName))
    static let droppedFromClients = FieldNameSet(alwaysDropped)
    /// The same for a peer that is not a trusted proxy: its forwarding fields too.
    static let droppedFromUntrustedClients = FieldNameSet(alwaysDropped.union(forwarding))
    /// Each with `Authorization`, for a request whose credential was in it.
    static let droppedFromClientsWithCredential = FieldNameSet(alwaysDropped.union(["authorization"]))
    static let droppedFromUntrustedClientsWithCredential = FieldNameSet(alwaysDropped.union(forwarding).union(["authorization"]))

    /// The lower-cased options of `Connection` field values (RFC 9110 §7.6.1); `exceptDropped`:
    /// less `close` and the hop-by-hop names, which are dropped anyway (the usual `keep-alive`
    /// then makes an empty set, without allocating).
    package static func connectionOptions(_ values: some Sequence<String>, exceptDropped: Bool = false) -> Set<String> {
        var options = Set<String>()
        for value in values {
            for option in value.utf8.split(separator: UInt8(ascii: ",")) {
                // Optional whitespace (RFC 9110 §5.6.3) is spaces and tabs only.
                func blank(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 }
                guard let first = option.firstIndex(where: { !blank($0) }), let last = option.lastIndex(where: { !blank($0) }) else { continue }
                let name = String(decoding: option[first...last], as: UTF8.self)
                if exceptDropped, Self.hopByHopNames.contains(name) || Self.close.contains(name) { continue }
                options.insert(name.lowercased())
            }
        }
        return options
    }

    /// An upstream's response fields as passed back to the client: hop-by-hop ones dropped.
    package static func passedBack(_ headers: HTTPHeaders) -> HTTPFields {
        let dropped = AnswerFieldsDropped(headers)
        var fields = HTTPFields()
        fields.reserveCapacity(headers.count)
        for (name, value) in headers {
            guard let name = HTTPField.Name(name), !dropped.contains(name.canonicalName) else { continue }
            fields.append(HTTPField(name: name, value: value))
        }
        return fields
    }

    /// Which of an answer's fields are not passed back.
    package struct AnswerFieldsDropped {
        /// A chunked answer is re-framed by our server; its length header, if any, is a lie.
        let chunked: Bool
        /// What its `Connection` names.
        let options: Set<String>

        private static let contentLength = FieldNameSet(["content-length"])

        package init(_ headers: HTTPHeaders) {
            self.chunked = headers.contains(name: "transfer-encoding")
            let values = headers["connection"]
            self.options = values.isEmpty ? [] : ReverseProxy.connectionOptions(values, exceptDropped: true)
        }

        /// Whether the field `name` (in any case) is dropped.
        package func contains(_ name: String) -> Bool {
            ReverseProxy.hopByHopNames.contains(name) || (self.chunked && Self.contentLength.contains(name))
                || (!self.options.isEmpty && self.options.contains(ReverseProxy.lowercased(name)))
        }
    }
}

/// A reverse proxy configuration error.
public struct ReverseProxyError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// Why a client's body did not reach the upstream.
enum ClientBodyError: Error { case tooLarge, unreadable }

/// Who reads the client's body: AsyncHTTPClient's upload until the proxy's answer has ended,
/// then Hummingbird (which reads what is left before the connection's next request). An
/// upstream that answers before it has read the whole body leaves the upload waiting in the
/// body's `next()`; Hummingbird starting its own read then would make two readers of the
/// connection's one stream, which NIO stops with a trap. So the answer's end waits for a read
/// under way, and the upload reads nothing after it.
final class ClientBodyGate: Sendable {
    private struct State {
        var reading = false
        var closed = false
        var waiting: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    /// Before a read by the upload: false once closed.
    func enter() -> Bool {
        self.state.withLock { state in
            guard !state.closed else { return false }
            state.reading = true
            return true
        }
    }

    func leave() {
        let waiting = self.state.withLock { state in
            state.reading = false
            defer { state.waiting = [] }
            return state.waiting
        }
        for continuation in waiting { continuation.resume() }
    }

    /// No more reads by the upload; returns once none is under way.
    func close() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let idle = self.state.withLock { state in
                state.closed = true
                if state.reading { state.waiting.append(continuation) }
                return !state.reading
            }
            if idle { continuation.resume() }
        }
    }
}

/// A client's request body on its way upstream: it fails once it has passed `maximum` bytes, and
/// a failure to read it (bad chunked framing, a client gone) is told apart from the upstream's.
struct ClientBody<Base: AsyncSequence & Sendable>: AsyncSequence, Sendable where Base.Element == ByteBuffer {
    typealias Element = ByteBuffer
    let base: Base
    let maximum: Int64
    let gate: ClientBodyGate

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: Base.AsyncIterator
        let maximum: Int64
        let gate: ClientBodyGate
        var seen: Int64 = 0

        mutating func next() async throws -> ByteBuffer? {
            guard self.gate.enter() else { return nil }
            defer { self.gate.leave() }
            let buffer: ByteBuffer?
            do { buffer = try await self.base.next() } catch { throw ClientBodyError.unreadable }
            guard let buffer else { return nil }
            self.seen += Int64(buffer.readableBytes)
            if self.seen > self.maximum { throw ClientBodyError.tooLarge }
            return buffer
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: self.base.makeAsyncIterator(), maximum: self.maximum, gate: self.gate) }
}
