// The msgpack subset crtauth v1 uses (positive integers, bin, str; concatenated, no maps or
// arrays) is written by hand: it is tiny, and crtauth needs byte-exact control over which
// width is emitted and which are accepted.

/// Reads crtauth's msgpack subset from a message (a slice of an array, or bytes decoded into
/// scratch space); every read is bounds-checked and type-checked.
package struct MessagePackReader<Bytes: RandomAccessCollection<UInt8>> where Bytes.Index == Int {
    private let bytes: Bytes
    /// An index of ``bytes`` (of its base array, for a slice), as are the indices of every
    /// range and slice read.
    package private(set) var offset: Int
    private let what: String

    package init(_ bytes: Bytes, what: String) {
        self.bytes = bytes
        self.offset = bytes.startIndex
        self.what = what
    }

    package var isAtEnd: Bool { self.offset >= self.bytes.endIndex }
    /// Where the message being read starts.
    package var messageStart: Int { self.bytes.startIndex }

    @inline(__always)
    private mutating func byte(_ field: String) throws -> UInt8 {
        guard self.offset < self.bytes.endIndex else { throw self.truncated(field) }
        defer { self.offset += 1 }
        return self.bytes[self.offset]
    }

    @inline(__always)
    private mutating func bigEndian(_ width: Int, _ field: String) throws -> UInt64 {
        guard self.bytes.endIndex - self.offset >= width else { throw self.truncated(field) }
        var value: UInt64 = 0
        for i in 0..<width { value = (value << 8) | UInt64(self.bytes[self.offset + i]) }
        self.offset += width
        return value
    }

    /// A non-negative integer in any width (fixint, uint8/16/32/64).
    package mutating func readUInt(_ field: String) throws -> UInt64 {
        let tag = try self.byte(field)
        switch tag {
        case 0x00...0x7F: return UInt64(tag)
        case 0xCC: return try self.bigEndian(1, field)
        case 0xCD: return try self.bigEndian(2, field)
        case 0xCE: return try self.bigEndian(4, field)
        case 0xCF: return try self.bigEndian(8, field)
        default: throw self.wrongType(field, "an unsigned integer", tag)
        }
    }

    /// A `bin` of any width, at most `limit` bytes.
    package mutating func readBinary(_ field: String, limit: Int) throws -> Bytes.SubSequence {
        self.bytes[try self.readBinaryRange(field, limit: limit)]
    }

    /// Where a `bin` of any width, at most `limit` bytes, is (parsers keep indices, not slices).
    package mutating func readBinaryRange(_ field: String, limit: Int) throws -> Range<Int> {
        let tag = try self.byte(field)
        let length: UInt64
        switch tag {
        case 0xC4: length = try self.bigEndian(1, field)
        case 0xC5: length = try self.bigEndian(2, field)
        case 0xC6: length = try self.bigEndian(4, field)
        default: throw self.wrongType(field, "binary data", tag)
        }
        return try self.payload(length, field, limit: limit)
    }

    /// A UTF-8 `str` of any width, at most `limit` bytes.
    package mutating func readString(_ field: String, limit: Int) throws -> String {
        // Checked first, then decoded: `String(validating:as:)` is generic over the encoding and
        // costs more than both for the ASCII names crtauth carries.
        self.bytes.withBytes(at: try self.readUTF8Range(field, limit: limit)) { String(decoding: $0, as: UTF8.self) }
    }

    /// Where the bytes of a `str` of any width, at most `limit` bytes, are; checked to be UTF-8.
    package mutating func readUTF8Range(_ field: String, limit: Int) throws -> Range<Int> {
        let range = try self.readStringRange(field, limit: limit)
        guard self.bytes.withBytes(at: range, isValidUTF8) else { throw self.notUTF8(field) }
        return range
    }

    /// Where the bytes of a `str` are, not yet checked to be UTF-8.
    private mutating func readStringRange(_ field: String, limit: Int) throws -> Range<Int> {
        let tag = try self.byte(field)
        let length: UInt64
        switch tag {
        case 0xA0...0xBF: length = UInt64(tag & 0x1F)
        case 0xD9: length = try self.bigEndian(1, field)
        case 0xDA: length = try self.bigEndian(2, field)
        case 0xDB: length = try self.bigEndian(4, field)
        default: throw self.wrongType(field, "a string", tag)
        }
        return try self.payload(length, field, limit: limit)
    }

    @inline(__always)
    private mutating func payload(_ length: UInt64, _ field: String, limit: Int) throws -> Range<Int> {
        guard length <= UInt64(limit) else {
            throw CRTAuthError(.tooLarge, "\(self.what): \(field) is \(length) bytes, more than the \(limit) allowed")
        }
        let count = Int(length)
        guard self.bytes.endIndex - self.offset >= count else { throw self.truncated(field) }
        defer { self.offset += count }
        return self.offset..<(self.offset + count)
    }

    package func expectEnd() throws {
        guard self.isAtEnd else {
            throw CRTAuthError(.trailingBytes, "\(self.what): \(self.bytes.endIndex - self.offset) unexpected bytes after the last field")
        }
    }

    private func notUTF8(_ field: String) -> CRTAuthError {
        CRTAuthError(.malformed, "\(self.what): \(field) is not valid UTF-8")
    }

    private func truncated(_ field: String) -> CRTAuthError {
        CRTAuthError(.truncated, "\(self.what) ends before its \(field)")
    }

    private func wrongType(_ field: String, _ expected: String, _ tag: UInt8) -> CRTAuthError {
        CRTAuthError(.malformed, "\(self.what): \(field) should be \(expected) (found msgpack type 0x\(String(tag, radix: 16)))")
    }
}

/// Writes crtauth's msgpack subset, always in the shortest form (str8 for 32–255 bytes).
package struct MessagePackWriter {
    package private(set) var bytes: [UInt8] = []

    /// - Parameter capacity: bytes to reserve (messages are small; this avoids regrowing).
    package init(capacity: Int = 128) { self.bytes.reserveCapacity(capacity) }

    private mutating func bigEndian(_ value: UInt64, _ width: Int) {
        withUnsafeBytes(of: value.bigEndian) { self.bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: $0[(8 - width)...])) }
    }

    package mutating func writeUInt(_ value: UInt64) {
        switch value {
        case 0...0x7F: self.bytes.append(UInt8(value))
        case 0x80...0xFF: self.bytes.append(0xCC); self.bigEndian(value, 1)
        case 0x100...0xFFFF: self.bytes.append(0xCD); self.bigEndian(value, 2)
        case 0x10000...0xFFFF_FFFF: self.bytes.append(0xCE); self.bigEndian(value, 4)
        default: self.bytes.append(0xCF); self.bigEndian(value, 8)
        }
    }

    /// Returns where the data landed in ``bytes``.
    @discardableResult
    package mutating func writeBinary(_ data: some Collection<UInt8>) -> Range<Int> {
        let n = UInt64(data.count)
        switch n {
        case 0...0xFF: self.bytes.append(0xC4); self.bigEndian(n, 1)
        case 0x100...0xFFFF: self.bytes.append(0xC5); self.bigEndian(n, 2)
        default: self.bytes.append(0xC6); self.bigEndian(n, 4)
        }
        let start = self.bytes.count
        self.bytes.append(contentsOf: data)
        return start..<self.bytes.count
    }

    /// Returns where the text's bytes landed in ``bytes``.
    @discardableResult
    package mutating func writeString(_ text: String) -> Range<Int> {
        let n = UInt64(text.utf8.count)
        switch n {
        case 0..<32: self.bytes.append(0xA0 | UInt8(n))
        case 32...0xFF: self.bytes.append(0xD9); self.bigEndian(n, 1)
        case 0x100...0xFFFF: self.bytes.append(0xDA); self.bigEndian(n, 2)
        default: self.bytes.append(0xDB); self.bigEndian(n, 4)
        }
        let start = self.bytes.count
        var text = text
        text.withUTF8 { self.bytes.append(contentsOf: $0) }
        return start..<self.bytes.count
    }
}

/// Whether `bytes` are valid UTF-8, with a fast path for ASCII (all crtauth names in practice).
func isValidUTF8(_ bytes: UnsafeRawBufferPointer) -> Bool {
    bytes.allSatisfy { $0 < 0x80 } || String(validating: bytes, as: UTF8.self) != nil
}

extension MessagePackWriter {
    /// Appends the HMAC-SHA256 of everything written so far, as v1/v2 challenges and tokens end.
    mutating func finishWithMAC(_ secrets: PreparedSecrets) -> (bytes: [UInt8], macInput: Range<Int>, macRange: Range<Int>) {
        let macInput = 0..<self.bytes.count
        var mac = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        withUnsafeMutableBytes(of: &mac) { mac in
            self.bytes.withUnsafeBytes { secrets.sha256MAC(of: $0, into: mac) }
        }
        self.bytes.append(0xC4)
        self.bytes.append(32)
        withUnsafeBytes(of: &mac) { self.bytes.append(contentsOf: $0) }
        return (self.bytes, macInput, macInput.upperBound + 2..<self.bytes.count)
    }
}
