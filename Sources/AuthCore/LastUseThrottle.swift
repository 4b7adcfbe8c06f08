import SSHKeys
import Synchronization

/// The rule of every store that records when a key was last used: at most once per
/// ``resolution`` per user and key, decided in memory, so that a busy key costs no database
/// access between writes and busy keys do not turn every authentication into a write.
public final class LastUseThrottle: Sendable {
    /// Seconds between two recorded uses of one key by one user.
    public static let resolution: UInt64 = 60
    /// Most (user, key) pairs remembered; past it the memory starts over (a few early writes).
    static let capacity = 100_000

    /// A user and a key (hashed by its blob: cheaper than its fingerprint, on every handshake).
    private struct Use: Hashable {
        let username: String
        let key: SSHPublicKey
    }

    private let lastWritten = Mutex<[Use: UInt64]>([:])

    public init() {}

    /// Whether the use of `key` by `username` at `time` is to be written; if so, it is taken
    /// as written.
    public func isDue(_ key: SSHPublicKey, by username: String, at time: UInt64) -> Bool {
        self.lastWritten.withLock { written in
            let slot = Use(username: username, key: key)
            if let last = written[slot], time < last + Self.resolution { return false }
            if written.count >= Self.capacity { written.removeAll(keepingCapacity: true) }
            written[slot] = time
            return true
        }
    }
}
