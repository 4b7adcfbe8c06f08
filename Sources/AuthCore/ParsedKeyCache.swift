import SSHKeys
import Synchronization

/// Parsed public keys by their stored blob, for key stores: parsing an RSA key (and
/// BoringSSL's first-use setup of it) costs more than a lookup. Bounded; emptied when full.
package final class ParsedKeyCache<Blob: Hashable & Sendable & Collection<UInt8>>: Sendable {
    package static var capacity: Int { 4096 }
    private let keys = Mutex<[Blob: SSHPublicKey]>([:])

    package init() {}

    /// The key in `blob`, or nil for a blob that does not parse (a row written by a newer version?).
    package func key(_ blob: Blob) -> SSHPublicKey? {
        if let key = self.keys.withLock({ $0[blob] }) { return key }
        guard let key = try? SSHPublicKey(wireBlob: blob) else { return nil }
        self.keys.withLock { keys in
            if keys.count >= Self.capacity { keys.removeAll(keepingCapacity: true) }
            keys[blob] = key
        }
        return key
    }
}
