import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Synchronization

/// One access-log line per request, written when its answer has been sent: peer, method, path
/// (without the query, which may carry secrets), status, body bytes sent, duration in seconds,
/// and what ``CRTAuthMiddleware`` decided — user, key fingerprint, scheme, refusal reason. Put
/// it first, before the authentication middleware. Credentials never appear: no header is logged.
public struct AccessLogMiddleware<Context: RequestContext>: RouterMiddleware {
    let logger: Logger

    /// - Parameter logger: where the lines go, at info, as the message `request` with the fields
    ///   as metadata (`peer`, `method`, `path`, `status`, `bytes`, `duration`, and `user`, `key`,
    ///   `scheme`, `reason` when known).
    public init(logger: Logger) { self.logger = logger }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let record = AccessRecord()
        let started = ContinuousClock.now
        let line = Line(logger: self.logger, record: record, started: started, method: request.method.rawValue, path: request.uri.path,
                        peer: (context as? any RemoteAddressRequestContext)?.remoteAddress)
        var response: Response
        do {
            response = try await AccessRecord.$current.withValue(record) { try await next(request, context) }
        } catch {
            // Hummingbird turns the error into the answer after this middleware.
            line.write(status: (error as? any HTTPResponseError)?.status.code ?? 500, bytes: 0)
            throw error
        }
        let status = response.status.code
        if let length = response.body.contentLength {
            line.write(status: status, bytes: request.method == .head ? 0 : length)
            return response
        }
        // A streamed body: counted as it is written, logged when it ends.
        let body = response.body
        response.body = ResponseBody { writer in
            let counter = ByteCounter()
            do {
                try await body.write(CountingWriter(base: writer, counter: counter))
            } catch {
                line.write(status: status, bytes: counter.total)
                throw error
            }
            line.write(status: status, bytes: counter.total)
        }
        return response
    }

    /// The parts of a line known before the answer.
    package struct Line: Sendable {
        let logger: Logger
        /// What authentication decided, when the chain behind records it (else given to `write`).
        let record: AccessRecord?
        let started: ContinuousClock.Instant
        let method: String
        let path: String
        let peer: SocketAddress?

        package init(logger: Logger, record: AccessRecord?, started: ContinuousClock.Instant, method: String, path: String, peer: SocketAddress?) {
            self.logger = logger
            self.record = record
            self.started = started
            self.method = method
            self.path = path
            self.peer = peer
        }

        package func write(status: Int, bytes: Int) {
            self.write(status: status, bytes: bytes, fields: self.record?.fields ?? AccessRecord.Fields())
        }

        package func write(status: Int, bytes: Int, fields: AccessRecord.Fields) {
            let elapsed = ContinuousClock.now - self.started
            let micros = elapsed.components.seconds * 1_000_000 + elapsed.components.attoseconds / 1_000_000_000_000
            let fraction = String(micros % 1_000_000)
            var metadata: Logger.Metadata = [
                "method": .string(self.method), "path": .string(Audit.escaped(self.path, limit: 256)), "status": .stringConvertible(status),
                "bytes": .stringConvertible(bytes), "duration": .stringConvertible("\(micros / 1_000_000).\(String(repeating: "0", count: 6 - fraction.count))\(fraction)"),
            ]
            if let peer = self.peer { metadata["peer"] = .string(Audit.describe(peer)) }
            if let user = fields.user { metadata["user"] = .string(user) }
            if let key = fields.key { metadata["key"] = .string(key) }
            if let scheme = fields.scheme { metadata["scheme"] = .string(scheme.name) }
            if let refusal = fields.refusal { metadata["reason"] = .string(refusal) }
            self.logger.info("request", metadata: metadata)
        }
    }
}

/// Bytes a response body has written so far.
final class ByteCounter: Sendable {
    private let count = Atomic<Int>(0)
    func add(_ bytes: Int) { self.count.add(bytes, ordering: .relaxed) }
    var total: Int { self.count.load(ordering: .relaxed) }
}

/// A body writer that counts what passes through it.
struct CountingWriter: ResponseBodyWriter {
    var base: any ResponseBodyWriter
    let counter: ByteCounter

    mutating func write(_ buffer: ByteBuffer) async throws {
        self.counter.add(buffer.readableBytes)
        try await self.base.write(buffer)
    }

    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {
        try await self.base.finish(trailingHeaders)
    }
}
