// base64url (RFC 4648 §5) is done by hand: crtauth emits it unpadded, accepts both, and
// token validation is hot enough that a table-driven decoder over raw bytes matters.

/// Unpadded base64url, strict on decode (padding optional, nothing outside the alphabet,
/// canonical trailing bits).
public enum Base64URL {
    private static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
    /// One table per position in a 4-character group, each value already shifted into place:
    /// a group decodes with four loads and three ORs. Characters outside the alphabet map to
    /// `invalid`, which no OR of valid values can produce (bit 24 and up).
    private static let decodeTables: [UInt32] = {
        var tables = [UInt32](repeating: invalid, count: 4 * 256)
        for (index, char) in alphabet.enumerated() {
            for position in 0..<4 { tables[position * 256 + Int(char)] = UInt32(index) << (18 - 6 * UInt32(position)) }
        }
        return tables
    }()
    private static let invalid: UInt32 = 0x0100_0000

    /// Encodes without `=` padding.
    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        let input = Array(bytes)
        let full = input.count / 3, rest = input.count % 3
        let length = full * 4 + (rest == 0 ? 0 : rest + 1)
        return String(unsafeUninitializedCapacity: length) { out in
            alphabet.withUnsafeBufferPointer { table in
                var o = 0
                var i = 0
                while i + 2 < input.count {
                    let n = UInt32(input[i]) << 16 | UInt32(input[i + 1]) << 8 | UInt32(input[i + 2])
                    out[o] = table[Int(n >> 18)]
                    out[o + 1] = table[Int((n >> 12) & 0x3F)]
                    out[o + 2] = table[Int((n >> 6) & 0x3F)]
                    out[o + 3] = table[Int(n & 0x3F)]
                    o += 4
                    i += 3
                }
                if rest > 0 {
                    let n = UInt32(input[i]) << 16 | (rest == 2 ? UInt32(input[i + 1]) << 8 : 0)
                    out[o] = table[Int(n >> 18)]
                    out[o + 1] = table[Int((n >> 12) & 0x3F)]
                    if rest == 2 { out[o + 2] = table[Int((n >> 6) & 0x3F)] }
                }
            }
            return length
        }
    }

    /// Decodes padded or unpadded base64url; `nil` for anything else.
    public static func decode(_ text: String) -> [UInt8]? {
        var text = text
        return text.withUTF8 { decode(utf8: $0) }
    }

    /// Decodes padded or unpadded base64url bytes; `nil` for anything else.
    package static func decode(utf8 input: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        var count = input.count
        if count % 4 == 0, count > 0, input[count - 1] == UInt8(ascii: "=") {
            count -= 1
            if input[count - 1] == UInt8(ascii: "=") { count -= 1 }
        }
        let rest = count % 4
        guard rest != 1 else { return nil }
        let outputLength = count / 4 * 3 + (rest == 0 ? 0 : rest - 1)
        var valid = true
        // Zero-filled rather than `init(unsafeUninitializedCapacity:)`, which is not specialised
        // here and costs a generic metadata lookup per call.
        var output = [UInt8](repeating: 0, count: outputLength)
        output.withUnsafeMutableBufferPointer { out in
            decodeTables.withUnsafeBufferPointer { tables in
                let t = tables.baseAddress!  // a non-empty static table
                @inline(__always) func group(_ i: Int, _ length: Int) -> UInt32 {
                    var n = t[Int(input[i])] | t[256 + Int(input[i + 1])]
                    if length > 2 { n |= t[512 + Int(input[i + 2])] }
                    if length > 3 { n |= t[768 + Int(input[i + 3])] }
                    return n
                }
                var i = 0, o = 0
                var bad: UInt32 = 0
                while i + 4 <= count {
                    let n = group(i, 4)
                    bad |= n
                    out[o] = UInt8(truncatingIfNeeded: n >> 16)
                    out[o + 1] = UInt8(truncatingIfNeeded: n >> 8)
                    out[o + 2] = UInt8(truncatingIfNeeded: n)
                    i += 4
                    o += 3
                }
                if rest > 0 {
                    let n = group(i, rest)
                    bad |= n
                    out[o] = UInt8(truncatingIfNeeded: n >> 16)
                    if rest == 3 { out[o + 1] = UInt8(truncatingIfNeeded: n >> 8) }
                    // The unused low bits must be zero (canonical encoding).
                    if n & (rest == 3 ? 0xFF : 0xFFFF) != 0 { valid = false }
                }
                if bad >= invalid { valid = false }
            }
        }
        return valid ? output : nil
    }
}
