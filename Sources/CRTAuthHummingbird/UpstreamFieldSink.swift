import NIOHTTP1

/// Where the proxy puts the header fields it sends upstream (``ReverseProxy/addUpstreamFields(of:identity:client:to:)``):
/// NIO's `HTTPHeaders` for a request sent through a client, or a request's wire form written
/// as it goes.
package protocol UpstreamFieldSink {
    mutating func add(name: String, value: String)
}

extension HTTPHeaders: UpstreamFieldSink {}
