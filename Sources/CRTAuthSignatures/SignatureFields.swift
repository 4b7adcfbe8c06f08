
/// A strict parser for the structured-field dictionaries of `Signature-Input` and `Signature`
/// (RFC 8941 §4.2), and the canonical serialization of an inner list (§4.1.1.1), for the
/// verifier's hot path.
///
/// swift-http-structured-headers parses the same grammar (the tests check that both agree
/// on generated fields), but its parser is generic and not inlinable: it runs unspecialised and
/// cost more than half an Ed25519 verification per request. This one handles the subset the
/// two fields use — no decimals, dates or display strings — and also refuses a member name or
/// parameter given twice (RFC 8941 would let the last win: a way to show two verifiers two
/// different signatures).
struct SignatureFieldParser {
    enum BareItem: Equatable {
        case integer(Int64)
        case string(String)
        case token(String)
        case bytes(String)  // base64 text, not decoded
        case bool(Bool)
    }

    typealias Parameters = [(name: String, value: BareItem)]

    struct Item {
        var value: BareItem
        var parameters: Parameters
    }

    enum Member {
        case item(Item)
        case innerList([Item], Parameters)
    }

    private let bytes: [UInt8]
    private var index = 0

    /// Parses a whole dictionary field value.
    static func parseDictionary(_ text: String, field: String) throws -> [(name: String, member: Member)] {
        var parser = SignatureFieldParser(bytes: Array(text.utf8))
        do {
            return try parser.dictionary()
        } catch let error as SyntaxError {
            throw SignatureSchemeError(.malformed, "\(field) is not a structured-field dictionary (\(error.reason) at byte \(parser.index))")
        }
    }

    private init(bytes: [UInt8]) { self.bytes = bytes }

    private struct SyntaxError: Error { let reason: String }

    private var current: UInt8? { self.index < self.bytes.count ? self.bytes[self.index] : nil }

    private mutating func skip(_ predicate: (UInt8) -> Bool) {
        while let byte = self.current, predicate(byte) { self.index += 1 }
    }

    private static func isOWS(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 }

    private mutating func dictionary() throws -> [(name: String, member: Member)] {
        var members: [(name: String, member: Member)] = []
        self.skip { $0 == 0x20 }
        while self.current != nil {
            let name = try self.key()
            guard !members.contains(where: { $0.name == name }) else { throw SyntaxError(reason: "member \(name.prefix(32)) given twice") }
            let member: Member
            if self.current == UInt8(ascii: "=") {
                self.index += 1
                if self.current == UInt8(ascii: "(") {
                    let list = try self.innerList()
                    member = .innerList(list, try self.parameters())
                } else {
                    member = .item(Item(value: try self.bareItem(), parameters: try self.parameters()))
                }
            } else {
                member = .item(Item(value: .bool(true), parameters: try self.parameters()))
            }
            members.append((name, member))
            self.skip(Self.isOWS)
            guard self.current != nil else { break }
            guard self.current == UInt8(ascii: ",") else { throw SyntaxError(reason: "',' expected") }
            self.index += 1
            self.skip(Self.isOWS)
            guard self.current != nil else { throw SyntaxError(reason: "trailing ','") }
        }
        return members
    }

    private mutating func innerList() throws -> [Item] {
        self.index += 1  // "("
        var items: [Item] = []
        while true {
            self.skip { $0 == 0x20 }
            guard let byte = self.current else { throw SyntaxError(reason: "unterminated inner list") }
            if byte == UInt8(ascii: ")") {
                self.index += 1
                return items
            }
            items.append(Item(value: try self.bareItem(), parameters: try self.parameters()))
            guard let next = self.current, next == 0x20 || next == UInt8(ascii: ")") else { throw SyntaxError(reason: "' ' or ')' expected in an inner list") }
        }
    }

    private mutating func parameters() throws -> Parameters {
        var parameters: Parameters = []
        while self.current == UInt8(ascii: ";") {
            self.index += 1
            self.skip { $0 == 0x20 }
            let name = try self.key()
            guard !parameters.contains(where: { $0.name == name }) else { throw SyntaxError(reason: "parameter \(name.prefix(32)) given twice") }
            var value = BareItem.bool(true)
            if self.current == UInt8(ascii: "=") {
                self.index += 1
                value = try self.bareItem()
            }
            parameters.append((name, value))
        }
        return parameters
    }

    private mutating func key() throws -> String {
        let start = self.index
        guard let first = self.current, (first >= UInt8(ascii: "a") && first <= UInt8(ascii: "z")) || first == UInt8(ascii: "*") else {
            throw SyntaxError(reason: "a key must start with a lower-case letter or '*'")
        }
        self.skip { ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z")) || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "*") }
        return String(decoding: self.bytes[start..<self.index], as: UTF8.self)
    }

    private mutating func bareItem() throws -> BareItem {
        guard let byte = self.current else { throw SyntaxError(reason: "a value is missing") }
        switch byte {
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            let start = self.index
            if byte == UInt8(ascii: "-") { self.index += 1 }
            let digits = self.index
            self.skip { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
            guard self.index > digits, self.index - digits <= 15 else { throw SyntaxError(reason: "an integer has 1 to 15 digits") }
            guard self.current != UInt8(ascii: ".") else { throw SyntaxError(reason: "decimals are not used by signatures") }
            return .integer(Int64(String(decoding: self.bytes[start..<self.index], as: UTF8.self))!)
        case UInt8(ascii: "\""):
            self.index += 1
            var text: [UInt8] = []
            while true {
                guard let next = self.current else { throw SyntaxError(reason: "unterminated string") }
                self.index += 1
                switch next {
                case UInt8(ascii: "\""): return .string(String(decoding: text, as: UTF8.self))
                case UInt8(ascii: "\\"):
                    guard let escaped = self.current, escaped == UInt8(ascii: "\"") || escaped == UInt8(ascii: "\\") else { throw SyntaxError(reason: "bad escape in a string") }
                    self.index += 1
                    text.append(escaped)
                case 0x20...0x7E: text.append(next)
                default: throw SyntaxError(reason: "a string holds printable ASCII only")
                }
            }
        case UInt8(ascii: ":"):
            self.index += 1
            let start = self.index
            self.skip { ($0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z")) || ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z")) || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "=") }
            guard self.current == UInt8(ascii: ":") else { throw SyntaxError(reason: "unterminated byte sequence") }
            defer { self.index += 1 }
            return .bytes(String(decoding: self.bytes[start..<self.index], as: UTF8.self))
        case UInt8(ascii: "?"):
            self.index += 1
            guard let value = self.current, value == UInt8(ascii: "0") || value == UInt8(ascii: "1") else { throw SyntaxError(reason: "a boolean is ?0 or ?1") }
            self.index += 1
            return .bool(value == UInt8(ascii: "1"))
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "*"):
            let start = self.index
            self.index += 1
            self.skip(Self.isTokenCharacter)
            return .token(String(decoding: self.bytes[start..<self.index], as: UTF8.self))
        default:
            throw SyntaxError(reason: "unexpected character")
        }
    }

    /// tchar (RFC 9110) plus ':' and '/'.
    private static func isTokenCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"), UInt8(ascii: "'"), UInt8(ascii: "*"),
             UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"),
             UInt8(ascii: "~"), UInt8(ascii: ":"), UInt8(ascii: "/"): true
        default: false
        }
    }

    // MARK: Serialization

    /// The canonical serialization of an inner list (what `@signature-params` carries).
    static func serialize(innerList items: [Item], parameters: Parameters) -> String {
        var out = "("
        for (offset, item) in items.enumerated() {
            if offset > 0 { out += " " }
            self.serialize(item.value, into: &out)
            self.serialize(item.parameters, into: &out)
        }
        out += ")"
        self.serialize(parameters, into: &out)
        return out
    }

    private static func serialize(_ parameters: Parameters, into out: inout String) {
        for (name, value) in parameters {
            out += ";" + name
            if value != .bool(true) {
                out += "="
                self.serialize(value, into: &out)
            }
        }
    }

    private static func serialize(_ value: BareItem, into out: inout String) {
        switch value {
        case .integer(let number): out += String(number)
        case .string(let text):
            out += "\""
            for character in text.unicodeScalars {
                if character == "\"" || character == "\\" { out += "\\" }
                out.unicodeScalars.append(character)
            }
            out += "\""
        case .token(let token): out += token
        case .bytes(let base64): out += ":" + base64 + ":"
        case .bool(let flag): out += flag ? "?1" : "?0"
        }
    }
}
