// The XDR subset (RFC 4506) that crtauth v0 uses is written by hand: one-byte magics padded
// to four, uint32, fixed and variable opaque data.

package struct XDRReader {
    private let bytes: ArraySlice<UInt8>
    /// An index of ``bytes``' base array, as are the indices of every slice read.
    package private(set) var offset: Int
    private let end: Int
    private let what: String

    package init(_ bytes: ArraySlice<UInt8>, what: String) {
        self.bytes = bytes
        self.offset = bytes.startIndex
        self.end = bytes.endIndex
        self.what = what
    }

    package init(_ bytes: [UInt8], what: String) {
        self.init(bytes[...], what: what)
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

    package mutating func readFixed(_ count: Int, _ field: String) throws -> ArraySlice<UInt8> {
        guard self.end - self.offset >= count else {
            throw CRTAuthError(.truncated, "\(self.what) ends before its \(field)")
        }
        defer { self.offset += count }
        return self.bytes[self.offset..<(self.offset + count)]
    }

    /// Variable-length opaque data, zero-padded to a multiple of four.
    package mutating func readOpaque(_ field: String, limit: Int) throws -> ArraySlice<UInt8> {
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
        String(decoding: try self.readUTF8(field, limit: limit), as: UTF8.self)
    }

    /// The bytes of a string, checked to be UTF-8.
    package mutating func readUTF8(_ field: String, limit: Int) throws -> ArraySlice<UInt8> {
        let raw = try self.readOpaque(field, limit: limit)
        guard raw.withUnsafeBytes(isValidUTF8) else {
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
