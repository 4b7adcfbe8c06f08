import NIOCore
import Synchronization

/// One value per event loop, made on its first use and kept while this lives: state that a
/// loop's connections share without locks, each value used on its own loop only. Finding a
/// loop's value takes a lock, so a connection does it once.
final class EventLoopLocal<Value: AnyObject>: @unchecked Sendable {
    private let values = Mutex<[ObjectIdentifier: Value]>([:])
    private let make: @Sendable () -> Value

    init(_ make: @escaping @Sendable () -> Value) { self.make = make }

    /// The value of `eventLoop` (to be used on it only).
    func value(on eventLoop: any EventLoop) -> Value {
        let key = ObjectIdentifier(eventLoop)
        return self.values.withLock { values in
            if let value = values[key] { return value }
            let value = self.make()
            values[key] = value
            return value
        }
    }
}
