import AuthCore
import Foundation
import Synchronization

/// Users' keys as last read, kept only while no transaction has committed to the database
/// since — in this process or any other (`crtauth keys add` and `remove` act on the very next
/// handshake). A handshake reads its user's keys twice (challenge and token), and a read
/// transaction takes SQLite's shared-memory locks, contended between the event loops: in a
/// profile of the gateway a third of a challenge's cost.
///
/// Whether anything has committed is read from the header of the WAL index (the `-shm` file),
/// which SQLite's unix VFS rewrites on every commit (its layout: sqlite.org/walformat.html,
/// version 3007000). The header is read before the lookup it validates, so what is kept is at
/// least as new as its stamp; a header that cannot be read or trusted (no WAL index, another
/// version, its two copies differing while a commit writes them) keeps nothing, and the lookup
/// goes to SQLite as it would without this cache. Written by hand because SQLite offers no way
/// to learn of another process's commit without starting a read transaction.
final class KeyLookupCache: Sendable {
    /// Users kept at most; past it the cache starts afresh.
    static let maximumUsers = 4096

    /// The WAL index's header at one moment (its first copy, 48 bytes).
    struct Stamp: Equatable {
        let words: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64)

        static func == (a: Stamp, b: Stamp) -> Bool {
            a.words.0 == b.words.0 && a.words.1 == b.words.1 && a.words.2 == b.words.2
                && a.words.3 == b.words.3 && a.words.4 == b.words.4 && a.words.5 == b.words.5
        }
    }

    private struct Kept {
        var stamp: Stamp?
        var lookups: [String: KeyLookup] = [:]
    }

    /// The WAL index opened for reading (-1: it could not be; nothing is kept). Never closed:
    /// closing any descriptor of a file drops every POSIX lock this process holds on it, and
    /// SQLite's connections hold theirs on this file. One per store, and a gateway opens one store.
    private let index: Int32
    private let kept = Mutex(Kept())

    /// For the database at `databasePath`, in WAL mode and open (so its WAL index exists).
    init(databasePath: String) { self.index = open(databasePath + "-shm", O_RDONLY | O_CLOEXEC) }

    /// The WAL index's header now, if it can be trusted.
    func stamp() -> Stamp? {
        let descriptor = self.index
        guard descriptor >= 0 else { return nil }
        // Two copies of the header (48 bytes each): SQLite writes the second, then the first,
        // and trusts them only when they agree.
        var words: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        let read = withUnsafeMutableBytes(of: &words) { pread(descriptor, $0.baseAddress, $0.count, 0) }
        guard read == 96 else { return nil }
        let first = Stamp(words: (words.0, words.1, words.2, words.3, words.4, words.5))
        let second = Stamp(words: (words.6, words.7, words.8, words.9, words.10, words.11))
        // iVersion (the first 4 bytes, in the machine's order) and isInit (byte 12).
        let version = UInt32(truncatingIfNeeded: words.0)
        let initialised = UInt8(truncatingIfNeeded: words.1 >> 32)
        guard first == second, version == 3_007_000, initialised == 1 else { return nil }
        return first
    }

    /// What was kept for `username` under `stamp`.
    func lookup(_ username: String, at stamp: Stamp) -> KeyLookup? {
        self.kept.withLock { $0.stamp == stamp ? $0.lookups[username] : nil }
    }

    /// Keeps what was read for `username` after `stamp` was taken.
    func keep(_ lookup: KeyLookup, for username: String, at stamp: Stamp) {
        self.kept.withLock { kept in
            if kept.stamp != stamp || kept.lookups.count >= Self.maximumUsers { kept = Kept(stamp: stamp) }
            kept.lookups[username] = lookup
        }
    }
}
