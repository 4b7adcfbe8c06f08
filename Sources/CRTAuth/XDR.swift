// The XDR subset (RFC 4506) that crtauth v0 uses is written by hand: one-byte magics padded
// to four, uint32, fixed and variable opaque data.

/// Reads crtauth's XDR subset from a message (a slice of an array, or bytes decoded into scratch
/// space); every read is bounds-checked.
package struct XDRReader<Bytes: RandomAccessCollection<UInt8>> where Bytes.Index == Int {
    private let bytes: Bytes
    /// An index of ``bytes`` (of its base array, for a slice), as are the indices of every
    /// slice read.
    package private(set) var offset: Int
    private let end: Int
    private let what: String

    package init(_ bytes: Bytes, what: String) {
        self.bytes = bytes
        self.offset = bytes.startIndex
        self.end = bytes.endIndex
        self.what = what
    }

    package var isAtEnd: Bool { self.offset >= self.end }

    /// A one-byte magic, padded with three zero bytes.
    package mutating func readMagic(_ expected: UInt8) throws {
        let raw = try self.readFixed(4, "magic")
        guard raw.first == expected, raw.dropFirst().allSatisfy({ $0 == 0 }) else {
            throw CRTAuthError(.wrongMessageType, "\(self.what): wrong magic byte")
        }
    }

    package mutating func readUInt32(_ field: String) throws -> UInt32 {
        try self.readFixed(4, field).reduce(0) { ($0 << 8) | UInt32($1) }
    }

    package mutating func readFixed(_ count: Int, _ field: String) throws -> Bytes.SubSequence {
        guard self.end - self.offset >= count else {
            throw CRTAuthError(.truncated, "\(self.what) ends before its \(field)")
        }
        defer { self.offset += count }
        return self.bytes[self.offset..<(self.offset + count)]
    }

    /// Variable-length opaque data, zero-padded to a multiple of four.
    package mutating func readOpaque(_ field: String, limit: Int) throws -> Bytes.SubSequence {
        let length = try self.readUInt32(field)
        guard length <= UInt32(limit) else {
            throw CRTAuthError(.tooLarge, "\(self.what): \(field) is \(length) bytes, more than the \(limit) allowed")
        }
        let data = try self.readFixed(Int(length), field)
        let padding = try self.readFixed((4 - Int(length) % 4) % 4, field)
        guard padding.allSatisfy({ $0 == 0 }) else {
            throw CRTAuthError(.malformed, "\(self.what): \(field) has non-zero padding")
        }
        return data
    }

    package mutating func readString(_ field: String, limit: Int) throws -> String {
        let raw = try self.readUTF8(field, limit: limit)
        return self.bytes.withBytes(at: raw.startIndex..<raw.endIndex) { String(decoding: $0, as: UTF8.self) }
    }

    /// The bytes of a string, checked to be UTF-8.
    package mutating func readUTF8(_ field: String, limit: Int) throws -> Bytes.SubSequence {
        let raw = try self.readOpaque(field, limit: limit)
        guard self.bytes.withBytes(at: raw.startIndex..<raw.endIndex, isValidUTF8) else {
            throw CRTAuthError(.malformed, "\(self.what): \(field) is not valid UTF-8")
        }
        return raw
    }

    package func expectEnd() throws {
        guard self.isAtEnd else {
            throw CRTAuthError(.trailingBytes, "\(self.what): \(self.end - self.offset) unexpected bytes after the last field")
        }
    }
}

package struct XDRWriter {
    package private(set) var bytes: [UInt8] = []

    /// - Parameter capacity: bytes to reserve (messages are small; this avoids regrowing).
    package init(capacity: Int = 128) { self.bytes.reserveCapacity(capacity) }

    package mutating func writeMagic(_ magic: UInt8) { self.writeUInt32(UInt32(magic) << 24) }

    package mutating func writeUInt32(_ value: UInt32) {
        for shift in stride(from: 24, through: 0, by: -8) { self.bytes.append(UInt8(truncatingIfNeeded: value >> UInt32(shift))) }
    }

    /// Returns where the data landed in ``bytes``.
    @discardableResult
    package mutating func writeFixed(_ data: some Collection<UInt8>) -> Range<Int> {
        let start = self.bytes.count
        self.bytes += data
        return start..<self.bytes.count
    }

    /// Returns where the data (without its length and padding) landed in ``bytes``.
    @discardableResult
    package mutating func writeOpaque(_ data: some Collection<UInt8>) -> Range<Int> {
        self.writeUInt32(UInt32(truncatingIfNeeded: data.count))
        let range = self.writeFixed(data)
        for _ in 0..<((4 - data.count % 4) % 4) { self.bytes.append(0) }
        return range
    }

    @discardableResult
    package mutating func writeString(_ text: String) -> Range<Int> { self.writeOpaque(text.utf8) }
}
