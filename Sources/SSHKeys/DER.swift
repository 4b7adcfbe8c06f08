// The few DER structures we must take apart ourselves (RSAPrivateKey components, the PKCS#8
// wrapper of Ed25519 keys) are read with this minimal, bounds-checked TLV reader.

package struct DERReader {
    private var bytes: ArraySlice<UInt8>

    package init(_ bytes: some Collection<UInt8>) { self.bytes = ArraySlice(bytes) }

    package var isAtEnd: Bool { self.bytes.isEmpty }

    /// Reads one element with the given tag and returns its contents.
    package mutating func read(tag expected: UInt8) throws -> ArraySlice<UInt8> {
        guard let tag = self.bytes.first else { throw Self.error("truncated") }
        guard tag == expected else { throw Self.error("unexpected tag") }
        var rest = self.bytes.dropFirst()
        guard let first = rest.first else { throw Self.error("truncated") }
        rest = rest.dropFirst()
        var length = 0
        if first < 0x80 {
            length = Int(first)
        } else {
            let count = Int(first & 0x7F)
            guard count >= 1, count <= 3, rest.count >= count else { throw Self.error("bad length") }
            for byte in rest.prefix(count) { length = (length << 8) | Int(byte) }
            rest = rest.dropFirst(count)
        }
        guard length <= rest.count else { throw Self.error("truncated") }
        self.bytes = rest.dropFirst(length)
        return rest.prefix(length)
    }

    /// Reads a non-negative INTEGER and returns its magnitude without leading zeros.
    package mutating func readUnsignedInteger() throws -> ArraySlice<UInt8> {
        let raw = try self.read(tag: 0x02)
        guard let first = raw.first, first & 0x80 == 0 else { throw Self.error("negative or empty integer") }
        return raw.drop { $0 == 0 }
    }

    private static func error(_ what: String) -> SSHKeyError {
        SSHKeyError(.invalidEncoding, "malformed DER: \(what)")
    }
}

package enum DERWriter {
    package static func element(tag: UInt8, _ contents: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [tag]
        let n = contents.count
        if n < 0x80 {
            out.append(UInt8(n))
        } else if n <= 0xFF {
            out += [0x81, UInt8(n)]
        } else if n <= 0xFFFF {
            out += [0x82, UInt8(n >> 8), UInt8(n & 0xFF)]
        } else {
            out += [0x83, UInt8(n >> 16), UInt8((n >> 8) & 0xFF), UInt8(n & 0xFF)]
        }
        return out + contents
    }
}
