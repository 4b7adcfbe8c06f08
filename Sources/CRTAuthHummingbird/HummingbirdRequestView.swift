import AuthCore
import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization

/// A Hummingbird request's header fields, read in place by the authenticators.
struct HummingbirdFields: RequestFields {
    let fields: HTTPFields

    func values(_ name: String) -> [String] {
        guard let name = HTTPField.Name(name) else { return [] }
        return self.fields[values: name]
    }

    var all: [(name: String, value: String)] { self.fields.map { ($0.name.canonicalName, $0.value) } }
}

/// A request's body as the authenticators that cover it read it: collected at most once, up to
/// the limit, and kept so the handler or the upstream still receives it.
final class RequestBodyReader: Sendable {
    private struct State {
        var request: Request
        var collected: [UInt8]?
        var exceededLimit = false
    }
    private let state: Mutex<State>
    private let limit: Int

    init(_ request: Request, limit: Int) {
        self.state = Mutex(State(request: request))
        self.limit = limit
    }

    /// The request, with its body in memory if an authenticator read it.
    var request: Request { self.state.withLock { $0.request } }
    /// Whether an authenticator asked for a body longer than the limit.
    var exceededLimit: Bool { self.state.withLock { $0.exceededLimit } }

    func read() async throws -> [UInt8] {
        // Authenticators run one after another: no read races another.
        let (unread, collected) = self.state.withLock { ($0.request, $0.collected) }
        if let collected { return collected }
        var request = unread
        do {
            let buffer = try await request.collectBody(upTo: self.limit)
            let bytes = Array(buffer.readableBytesView)
            self.state.withLock { $0.request = request; $0.collected = bytes }
            return bytes
        } catch let error as NIOTooManyBytesError {
            self.state.withLock { $0.exceededLimit = true }
            throw error
        }
    }
}
