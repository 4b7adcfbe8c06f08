// base64url (RFC 4648 §5) is done by hand: crtauth emits it unpadded, accepts both, and
// token validation is hot enough that a table-driven decoder over raw bytes matters.

/// Unpadded base64url, strict on decode (padding optional, nothing outside the alphabet,
/// canonical trailing bits).
public enum Base64URL {
    private static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
    /// 0xFF marks bytes outside the alphabet.
    private static let decodeTable: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (index, char) in alphabet.enumerated() { table[Int(char)] = UInt8(index) }
        return table
    }()

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

    static func decode(utf8 input: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        var count = input.count
        if count % 4 == 0, count > 0, input[count - 1] == UInt8(ascii: "=") {
            count -= 1
            if input[count - 1] == UInt8(ascii: "=") { count -= 1 }
        }
        let rest = count % 4
        guard rest != 1 else { return nil }
        let outputLength = count / 4 * 3 + (rest == 0 ? 0 : rest - 1)
        var valid = true
        let out = [UInt8](unsafeUninitializedCapacity: outputLength) { out, initialized in
            decodeTable.withUnsafeBufferPointer { table in
                var i = 0, o = 0
                while i + 4 <= count {
                    let a = table[Int(input[i])], b = table[Int(input[i + 1])], c = table[Int(input[i + 2])], d = table[Int(input[i + 3])]
                    if (a | b | c | d) & 0xC0 != 0 { valid = false; return }
                    let n = UInt32(a) << 18 | UInt32(b) << 12 | UInt32(c) << 6 | UInt32(d)
                    out[o] = UInt8(n >> 16)
                    out[o + 1] = UInt8((n >> 8) & 0xFF)
                    out[o + 2] = UInt8(n & 0xFF)
                    i += 4
                    o += 3
                }
                if rest > 0 {
                    let a = table[Int(input[i])], b = table[Int(input[i + 1])]
                    let c = rest == 3 ? table[Int(input[i + 2])] : 0
                    if (a | b | c) & 0xC0 != 0 { valid = false; return }
                    let n = UInt32(a) << 18 | UInt32(b) << 12 | UInt32(c) << 6
                    out[o] = UInt8(n >> 16)
                    if rest == 3 {
                        out[o + 1] = UInt8((n >> 8) & 0xFF)
                        // The unused low bits must be zero (canonical encoding).
                        if n & 0xFF != 0 { valid = false }
                    } else if n & 0xFFFF != 0 {
                        valid = false
                    }
                }
            }
            initialized = valid ? outputLength : 0
        }
        return valid ? out : nil
    }
}
