/// A JSON string literal (RFC 8259 §7) for `text`. With `asciiOnly`, every non-ASCII scalar is
/// written as `\uXXXX` (UTF-16, surrogate pairs included), as Python's `json.dumps` does by
/// default — what a byte-exact peer of PyJWT needs.
package func jsonStringLiteral(_ text: String, asciiOnly: Bool = false) -> String {
    func escape(_ unit: UInt32) -> String {
        let hex = String(unit, radix: 16)
        return "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
    }
    // Most text needs no escape at all: copied as it stands.
    if text.utf8.allSatisfy({ $0 >= 0x20 && $0 != 0x22 && $0 != 0x5C && (!asciiOnly || $0 < 0x7F) }) { return "\"" + text + "\"" }
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case "\u{08}" where asciiOnly: out += "\\b"
        case "\u{0C}" where asciiOnly: out += "\\f"
        case _ where scalar.value < 0x20: out += escape(scalar.value)
        case _ where asciiOnly && scalar.value > 0x7E: out += String(scalar).utf16.map { escape(UInt32($0)) }.joined()
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}
