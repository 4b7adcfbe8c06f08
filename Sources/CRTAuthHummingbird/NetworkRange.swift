import Glibc
import NIOCore

/// An IPv4 or IPv6 network in CIDR form (`10.0.0.0/8`, `::1/128`; a bare address is one host),
/// or `unix` for every peer of a unix-domain socket: the peers whose forwarding headers a proxy
/// believes. Parsed with `inet_pton`; compared on the address bytes.
public struct NetworkRange: Sendable, Hashable, CustomStringConvertible {
    let network: [UInt8]
    let prefixLength: Int
    public let description: String

    public init?(_ text: String) {
        if text == "unix" {
            (self.network, self.prefixLength, self.description) = ([], 0, text)
            return
        }
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let network = Self.bytes(of: String(parts[0])) else { return nil }
        let maximum = network.count * 8
        if parts.count == 2 {
            guard let length = Int(parts[1]), (0...maximum).contains(length), parts[1].allSatisfy(\.isNumber) else { return nil }
            self.prefixLength = length
        } else {
            self.prefixLength = maximum
        }
        self.network = network
        self.description = text
    }

    /// Whether `address` (an IPv4 or IPv6 peer; an IPv4-mapped IPv6 peer counts as IPv4) lies in
    /// this network; a unix-domain socket's peer, whether this is `unix`.
    public func contains(_ address: SocketAddress) -> Bool {
        if case .unixDomainSocket = address { return self.network.isEmpty }
        guard var bytes = address.ipAddress.flatMap(Self.bytes(of:)) else { return false }
        if bytes.count == 16, self.network.count == 4, bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xFF, bytes[11] == 0xFF {
            bytes = Array(bytes[12...])
        }
        guard bytes.count == self.network.count else { return false }
        var remaining = self.prefixLength
        for index in bytes.indices where remaining > 0 {
            let mask: UInt8 = remaining >= 8 ? 0xFF : ~(0xFF >> UInt8(remaining))
            if bytes[index] & mask != self.network[index] & mask { return false }
            remaining -= 8
        }
        return true
    }

    static func bytes(of address: String) -> [UInt8]? {
        var v4 = in_addr(), v6 = in6_addr()
        if inet_pton(AF_INET, address, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        if inet_pton(AF_INET6, address, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }
}
