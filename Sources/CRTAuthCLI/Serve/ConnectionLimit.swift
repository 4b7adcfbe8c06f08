import HummingbirdCore
import Logging
import NIOCore
import Synchronization

/// How many connections are open at once; past the limit a new one is closed at once, before
/// any byte of it is read (so before a TLS handshake), whatever it would have spoken.
final class ConnectionLimit: Sendable {
    let maximum: Int
    private let open = Atomic<Int>(0)

    init(maximum: Int) { self.maximum = maximum }

    /// Takes a place for a new connection; false when none is left.
    func admit() -> Bool {
        let now = self.open.wrappingAdd(1, ordering: .relaxed).newValue
        if now > self.maximum {
            self.open.wrappingSubtract(1, ordering: .relaxed)
            return false
        }
        return true
    }

    func release() { self.open.wrappingSubtract(1, ordering: .relaxed) }
}

/// A server's connections, counted by a ``ConnectionLimit``: each takes a place when it is set
/// up and gives it back when it closes; one past the limit is set up as usual (Hummingbird
/// stops accepting altogether if a setup fails) and closed at once.
struct ConnectionLimitedChannel<Base: ServerChildChannel>: ServerChildChannel {
    let base: Base
    let limit: ConnectionLimit

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Base.Value> {
        let admitted = self.limit.admit()
        if admitted {
            let limit = self.limit
            channel.closeFuture.whenComplete { _ in limit.release() }
        }
        let value = self.base.setup(channel: channel, logger: logger)
        return admitted ? value : value.always { _ in channel.close(promise: nil) }
    }

    func handle(value: Base.Value, logger: Logger) async {
        await self.base.handle(value: value, logger: logger)
    }
}
