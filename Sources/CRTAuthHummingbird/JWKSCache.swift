import AsyncHTTPClient
import CRTAuthJWT
import Foundation
import Logging
import NIOCore
import SSHKeys

/// Users' trusted JWKS documents, fetched with AsyncHTTPClient and cached, under
/// asymmetric_jwt_auth 1.3.0's rules:
/// - http and https only, redirects not followed, the whole fetch within ``fetchTimeout``,
///   at most ``JSONWebKeySet/maximumLength`` bytes;
/// - a set is refreshed when older than ``refreshAfter``, or when a token names a `kid` it
///   lacks — fetches of one URL at most once per ``retryInterval`` either way;
/// - a set fetched ``maximumAge`` or longer ago is not trusted;
/// - a failed fetch never replaces a good set.
/// A request whose key a stale but still trusted set holds is answered from it, and the set is
/// refreshed behind it (asymmetric_jwt_auth refreshes on a background thread); a request that
/// needs the fetch — no set yet, a `kid` the set lacks, a set no longer trusted — waits for it.
public actor JWKSCache {
    public static let fetchTimeout: TimeAmount = .seconds(5)
    public static let refreshAfter: UInt64 = 300
    public static let retryInterval: UInt64 = 30
    public static let maximumAge: UInt64 = 3600
    /// URLs remembered at most (the cache is emptied when full).
    public static let maximumURLs = 10_000

    struct Entry {
        var set: JSONWebKeySet?
        var fetchedAt: UInt64 = 0
        var lastAttempt: UInt64
    }

    private let client: HTTPClient
    private let ownsClient: Bool
    private let logger: Logger
    private let clock: @Sendable () -> UInt64
    private var entries: [String: Entry] = [:]
    /// Refreshes running behind requests, by URL.
    private var refreshing: [String: Task<Void, Never>] = [:]
    /// Fetches made, for tests and metrics.
    public private(set) var fetches = 0

    /// - Parameter client: used as is (it should not follow redirects); by default one is made
    ///   that does not, and shut down by ``shutdown()``.
    public init(client: HTTPClient? = nil, logger: Logger, clock: @escaping @Sendable () -> UInt64 = { UInt64(Date().timeIntervalSince1970) }) {
        self.ownsClient = client == nil
        self.client = client ?? HTTPClient(
            eventLoopGroupProvider: .singleton,
            configuration: .init(redirectConfiguration: .disallow, timeout: .init(connect: Self.fetchTimeout, read: Self.fetchTimeout)))
        self.logger = logger
        self.clock = clock
    }

    /// Waits for the refreshes running behind requests, then shuts the client down if it is ours.
    public func shutdown() async throws {
        await self.settle()
        if self.ownsClient { try await self.client.shutdown() }
    }

    /// Waits for the refreshes running behind requests.
    public func settle() async {
        // Each refresh removes itself when done.
        while let refresh = self.refreshing.values.first { await refresh.value }
    }

    /// The key `kid` of the JWKS at `url`, fetching or refreshing it as the rules allow.
    public func key(url: String, kid: String) async -> SSHPublicKey? {
        let now = self.clock()
        let entry = self.entries[url]
        let stale = entry.map { now.subtractingReportingOverflow($0.fetchedAt).partialValue >= Self.refreshAfter || $0.set == nil } ?? true
        let unknown = entry?.set?.key(id: kid) == nil
        if stale || unknown, entry.map({ now.subtractingReportingOverflow($0.lastAttempt).partialValue >= Self.retryInterval || now < $0.lastAttempt }) ?? true {
            if self.entries.count >= Self.maximumURLs, entry == nil { self.entries.removeAll() }
            // Marked before the fetch: concurrent requests do not fetch the same URL again.
            self.entries[url, default: Entry(lastAttempt: now)].lastAttempt = now
            if let entry, !unknown, now < entry.fetchedAt + Self.maximumAge {
                self.refreshing[url] = Task {
                    await self.refresh(url)
                    self.refreshing[url] = nil
                }
            } else {
                await self.refresh(url)
            }
        }
        guard let current = self.entries[url], let set = current.set, self.clock() < current.fetchedAt + Self.maximumAge else { return nil }
        return set.key(id: kid)
    }

    private func refresh(_ url: String) async {
        if let set = await self.fetch(url) {
            self.entries[url]?.set = set
            self.entries[url]?.fetchedAt = self.clock()
        }
    }

    private func fetch(_ url: String) async -> JSONWebKeySet? {
        self.fetches += 1
        guard let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased(), scheme == "http" || scheme == "https", parsed.host != nil else {
            self.logger.warning("JWKS URL refused: only http and https", metadata: ["url": .string(String(url.prefix(200)))])
            return nil
        }
        let client = self.client
        do {
            // The whole download, body included, within the timeout.
            return try await withThrowingTaskGroup(of: JSONWebKeySet?.self) { group in
                group.addTask {
                    let response = try await client.execute(HTTPClientRequest(url: url), timeout: Self.fetchTimeout)
                    guard response.status == .ok else { throw JWKSFetchError(message: "HTTP status \(response.status.code)") }
                    let body = try await response.body.collect(upTo: JSONWebKeySet.maximumLength)
                    return try JSONWebKeySet(json: body.readableBytesView)
                }
                group.addTask {
                    try await Task.sleep(for: .seconds(Self.fetchTimeout.nanoseconds / 1_000_000_000))
                    throw JWKSFetchError(message: "no complete answer within \(Self.fetchTimeout.nanoseconds / 1_000_000_000) s")
                }
                defer { group.cancelAll() }
                return try await group.next() ?? nil
            }
        } catch {
            self.logger.warning("JWKS fetch failed", metadata: ["url": .string(url), "error": .string("\(error)")])
            return nil
        }
    }
}

struct JWKSFetchError: Error, CustomStringConvertible {
    let message: String
    var description: String { self.message }
}
