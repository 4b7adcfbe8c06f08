import AsyncHTTPClient
import AuthCore
@testable import CRTAuthHummingbird
import Logging
import NIOCore
import NIOHTTP1
import Testing

/// The proxy's header rules, with field names in any case: what goes upstream (the same rules
/// write the fast path's wire form and the router's `HTTPHeaders`) and what comes back.
@Suite("reverse proxy header field rules")
struct ProxyFieldRulesTests {
    static let identity = AuthenticatedIdentity(username: "alice", key: nil, scheme: .chap)

    static func upstream(_ fields: [(String, String)], trusting: Bool) throws -> [(String, String)] {
        let proxy = try ReverseProxy(upstream: "http://127.0.0.1:9", client: .shared, logger: Logger(label: "test"), configuration: .init(
            trustedProxies: trusting ? [try #require(NetworkRange("127.0.0.0/8"))] : []))
        let peer = try SocketAddress(ipAddress: "127.0.0.1", port: 4000)
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/x", headers: HTTPHeaders(fields))
        var sent = HTTPHeaders()
        proxy.addUpstreamFields(of: head, identity: Self.identity, client: .init(peer: peer, configuration: proxy.configuration), to: &sent)
        return sent.map { ($0.name, $0.value) }
    }

    @Test("names are found in any case, by their place in the list; others are not")
    func fieldNameSet() {
        let names = FieldNameSet(["x-forwarded-for", "te", "forwarded"])
        #expect(names.index(of: "X-Forwarded-FOR") == 0 && names.index(of: "TE") == 1 && names.index(of: "forwarded") == 2)
        #expect(names.index(of: "x-forwarded-fo") == nil && names.index(of: "") == nil && names.index(of: "x-forwarded-for-x") == nil && names.index(of: "tf") == nil)
        // Only ASCII letters fold: `{` is `[` | 0x20.
        #expect(FieldNameSet(["{"]).index(of: "[") == nil)
    }

    @Test("from a client: hop-by-hop, Connection-listed, credential, forged identity and forwarding fields dropped in any case; identity and this hop's added")
    func untrusted() throws {
        let sent = try Self.upstream([("Host", "api.example"), ("AUTHORIZATION", "chap:x"), ("Connection", "keep-alive, X-Private"), ("x-private", "1"),
                                      ("X-Authenticated-USER", "mallory"), ("x-forwarded-for", "6.6.6.6"), ("FORWARDED", "for=6.6.6.6"), ("TE", "trailers"),
                                      ("Accept", "*/*"), ("Cookie", "a=1")], trusting: false)
        #expect(sent.map { "\($0.0): \($0.1)" } == [
            "Accept: */*", "Cookie: a=1", "X-Authenticated-User: alice", "X-Authenticated-Scheme: chap",
            "X-Forwarded-For: 127.0.0.1", "X-Forwarded-Proto: http", "X-Forwarded-Host: api.example",
            "Forwarded: for=127.0.0.1;host=api.example;proto=http", "Via: 1.1 crtauth",
        ])
    }

    @Test("from a trusted proxy: its address lists extended, its -Proto and -Host kept, in any case")
    func trusted() throws {
        let sent = try Self.upstream([("Host", "api.example"), ("x-forwarded-for", "6.6.6.6"), ("X-FORWARDED-FOR", "7.7.7.7"), ("x-forwarded-proto", "https"),
                                      ("Forwarded", "for=6.6.6.6"), ("Via", "1.1 edge")], trusting: true)
        #expect(sent.map { "\($0.0): \($0.1)" } == [
            "Via: 1.1 edge", "X-Authenticated-User: alice", "X-Authenticated-Scheme: chap",
            "X-Forwarded-For: 6.6.6.6, 7.7.7.7, 127.0.0.1", "X-Forwarded-Proto: https", "X-Forwarded-Host: api.example",
            "Forwarded: for=6.6.6.6, for=127.0.0.1;host=api.example;proto=http", "Via: 1.1 crtauth",
        ])
    }

    @Test("a trusted proxy named unix is any peer of a unix-domain socket, and no address")
    func unixPeers() throws {
        let unix = try #require(NetworkRange("unix")), loopback = try #require(NetworkRange("127.0.0.0/8"))
        let socketPeer = try SocketAddress(unixDomainSocketPath: "/tmp/x.sock"), addressPeer = try SocketAddress(ipAddress: "127.0.0.1", port: 1)
        #expect(unix.contains(socketPeer) && !unix.contains(addressPeer))
        #expect(loopback.contains(addressPeer) && !loopback.contains(socketPeer))
        #expect(NetworkRange("unix:") == nil && NetworkRange("Unix") == nil)
    }

    @Test("an answer's hop-by-hop fields and those its Connection names are not passed back; a chunked answer's length neither")
    func answer() {
        let headers = HTTPHeaders([("Connection", "Keep-Alive, X-Hop"), ("Keep-Alive", "timeout=5"), ("X-HOP", "1"), ("Transfer-Encoding", "chunked"),
                                   ("Content-Length", "3"), ("Set-Cookie", "a=1")])
        let dropped = ReverseProxy.AnswerFieldsDropped(headers)
        #expect(headers.filter { !dropped.contains($0.name) }.map(\.name) == ["Set-Cookie"])
        #expect(!ReverseProxy.AnswerFieldsDropped(HTTPHeaders([("Content-Length", "3")])).contains("content-length"))
        #expect(ReverseProxy.connectionOptions(["keep-alive, Upgrade"]) == ["keep-alive", "upgrade"])
        #expect(ReverseProxy.connectionOptions(["keep-alive, Upgrade, close, X-Hop"], exceptDropped: true) == ["x-hop"])
    }
}
