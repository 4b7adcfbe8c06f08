import Foundation

// The base64 of every module, in one place. base64url (RFC 4648 §5) is done by hand: crtauth
// emits it unpadded, accepts both, and token validation is hot enough that a table-driven
// decoder over raw bytes matters; fingerprints are unpadded standard base64, formatted on
// every authentication, where Foundation's encoder plus trimming cost more than the check.

/// Unpadded base64url, strict on decode (padding optional, nothing outside the alphabet,
/// canonical trailing bits).
public enum Base64URL {
    private static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
    /// One table per position in a 4-character group, each value already shifted into place:
    /// a group decodes with four loads and three ORs. Characters outside the alphabet map to
    /// `invalid`, which no OR of valid values can produce (bit 24 and up).
    @usableFromInline static let decodeTables: [UInt32] = {
        var tables = [UInt32](repeating: invalid, count: 4 * 256)
        for (index, char) in alphabet.enumerated() {
            for position in 0..<4 { tables[position * 256 + Int(char)] = UInt32(index) << (18 - 6 * UInt32(position)) }
        }
        return tables
    }()
    @usableFromInline static let invalid: UInt32 = 0x0100_0000

    /// Encodes without `=` padding.
    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        unpaddedBase64(bytes, alphabet: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    }

    /// Decodes padded or unpadded base64url; `nil` for anything else.
    public static func decode(_ text: String) -> [UInt8]? {
        var text = text
        return text.withUTF8 { decode(utf8: $0) }
    }

    /// Decodes padded or unpadded base64url bytes; `nil` for anything else.
    package static func decode(utf8 input: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        // Decoded into scratch space, then copied into an array in one go: cheaper, here, than
        // creating an uninitialised array and writing into it.
        withDecoded(utf8: input) { Array($0) }
    }

    /// Decodes padded or unpadded base64url bytes into scratch space and hands them to `body`;
    /// `nil` (and `body` is not called) for anything that is not base64url. Inlinable: it runs
    /// for every crtauth token checked, from another module, and a call to it unspecialised
    /// cost a sixth of a token check.
    @inlinable
    package static func withDecoded<Result>(utf8 input: UnsafeBufferPointer<UInt8>, _ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result? {
        var count = input.count
        if count % 4 == 0, count > 0, input[count - 1] == UInt8(ascii: "=") {
            count -= 1
            if input[count - 1] == UInt8(ascii: "=") { count -= 1 }
        }
        let rest = count % 4
        guard rest != 1 else { return nil }
        guard count > 0, let source = input.baseAddress else { return try body(UnsafeRawBufferPointer(start: nil, count: 0)) }
        let length = count / 4 * 3 + (rest == 0 ? 0 : rest - 1)  // at least 1
        return try withUnsafeTemporaryAllocation(byteCount: length, alignment: 8) { scratch in
            let valid = decodeTables.withUnsafeBufferPointer { tables in
                decode(source, count: count, into: scratch.baseAddress!.assumingMemoryBound(to: UInt8.self), tables: tables.baseAddress!)
            }
            return valid ? try body(UnsafeRawBufferPointer(scratch)) : nil
        }
    }

    @inlinable @inline(__always)
    static func decode(_ source: UnsafePointer<UInt8>, count: Int, into output: UnsafeMutablePointer<UInt8>, tables t: UnsafePointer<UInt32>) -> Bool {
        var bad: UInt32 = 0
        var i = 0, o = 0
        // Two groups at a time, stored as one 8-byte write, while 8 output bytes remain.
        let wholeOutput = count / 4 * 3
        while i + 8 <= count, o + 8 <= wholeOutput {
            let a = t[Int(source[i])] | t[256 + Int(source[i + 1])] | t[512 + Int(source[i + 2])] | t[768 + Int(source[i + 3])]
            let b = t[Int(source[i + 4])] | t[256 + Int(source[i + 5])] | t[512 + Int(source[i + 6])] | t[768 + Int(source[i + 7])]
            bad |= a | b
            UnsafeMutableRawPointer(output + o).storeBytes(of: (UInt64(a) << 40 | UInt64(b) << 16).bigEndian, as: UInt64.self)
            i += 8
            o += 6
        }
        while i + 4 <= count {
            let n = t[Int(source[i])] | t[256 + Int(source[i + 1])] | t[512 + Int(source[i + 2])] | t[768 + Int(source[i + 3])]
            bad |= n
            output[o] = UInt8(truncatingIfNeeded: n >> 16)
            output[o + 1] = UInt8(truncatingIfNeeded: n >> 8)
            output[o + 2] = UInt8(truncatingIfNeeded: n)
            i += 4
            o += 3
        }
        let rest = count - i
        if rest > 0 {
            var n = t[Int(source[i])] | t[256 + Int(source[i + 1])]
            if rest == 3 { n |= t[512 + Int(source[i + 2])] }
            bad |= n
            output[o] = UInt8(truncatingIfNeeded: n >> 16)
            if rest == 3 { output[o + 1] = UInt8(truncatingIfNeeded: n >> 8) }
            // The unused low bits must be zero (canonical encoding).
            if n & (rest == 3 ? 0xFF : 0xFFFF) != 0 { return false }
        }
        return bad < invalid
    }
}

/// Standard-alphabet base64 without `=` padding, as fingerprints print it.
package func unpaddedBase64(_ bytes: some Collection<UInt8>) -> String {
    unpaddedBase64(bytes, alphabet: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
}

/// Unpadded base64 of `bytes` in a 64-character `alphabet`.
private func unpaddedBase64(_ bytes: some Collection<UInt8>, alphabet: StaticString) -> String {
    let input = Array(bytes)
    let rest = input.count % 3
    let length = input.count / 3 * 4 + (rest == 0 ? 0 : rest + 1)
    return String(unsafeUninitializedCapacity: length) { out in
        let table = UnsafeBufferPointer(start: alphabet.utf8Start, count: 64)
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
        return length
    }
}

/// Strict standard-alphabet base64 (padding optional); the error names `what` but never echoes input.
func decodeBase64(_ text: some StringProtocol, what: String) throws -> [UInt8] {
    var s = String(text)
    let remainder = s.utf8.count % 4
    if remainder == 2 { s += "==" } else if remainder == 3 { s += "=" }
    guard remainder != 1, let data = Data(base64Encoded: s) else {
        throw SSHKeyError(.invalidEncoding, "\(what) is not valid base64")
    }
    return Array(data)
}
