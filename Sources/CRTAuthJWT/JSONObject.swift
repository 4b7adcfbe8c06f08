
/// A JSON value as a JWT header or claim set holds it. Integers are kept apart from other
/// numbers, so that `"time": 1700000000` and `"time": 1.7e9` can be told apart.
enum JSONValue: Equatable, Sendable {
    case string(String)
    case integer(Int64)
    case number(Double)
    case bool(Bool)
    case null
    case array([JSONValue])
    case object(JSONObject)

    var kind: String {
        switch self {
        case .string: "a string"
        case .integer: "an integer"
        case .number: "a non-integer number"
        case .bool: "a boolean"
        case .null: "null"
        case .array: "an array"
        case .object: "an object"
        }
    }
}

/// A JSON object's members in order. JWT objects hold a handful of members: a list searched
/// from the front beats hashing every name.
struct JSONObject: Equatable, Sendable {
    var members: [(name: String, value: JSONValue)] = []

    subscript(name: String) -> JSONValue? { self.members.first { $0.name == name }?.value }

    static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.members.count == rhs.members.count && zip(lhs.members, rhs.members).allSatisfy { $0.name == $1.name && $0.value == $1.value }
    }
}

/// A strict RFC 8259 parser for the small objects of a JWT: the whole input must be one
/// object; duplicate member names, more than ``maximumMembers`` members in an object, nesting
/// deeper than ``maximumDepth``, invalid UTF-8, unpaired surrogates and trailing bytes are
/// refused with ``JWTError``.
struct JSONObjectParser {
    static let maximumDepth = 8
    static let maximumMembers = 64

    private let bytes: [UInt8]
    private var index = 0

    /// Parses `bytes` as one JSON object.
    static func parse(_ bytes: [UInt8]) throws -> JSONObject {
        var parser = JSONObjectParser(bytes: bytes)
        parser.skipWhitespace()
        guard parser.peek() == UInt8(ascii: "{") else { throw Self.error("is not a JSON object") }
        guard case .object(let members) = try parser.value(depth: 0) else { throw Self.error("is not a JSON object") }
        parser.skipWhitespace()
        guard parser.index == parser.bytes.count else { throw JWTError(.trailingBytes, "bytes follow the JSON object") }
        return members
    }

    private init(bytes: [UInt8]) { self.bytes = bytes }

    private static func error(_ what: String) -> JWTError { JWTError(.malformed, "the JSON \(what)") }

    private func peek() -> UInt8? { self.index < self.bytes.count ? self.bytes[self.index] : nil }

    private mutating func next() throws -> UInt8 {
        guard self.index < self.bytes.count else { throw JWTError(.truncated, "the JSON ends early") }
        defer { self.index += 1 }
        return self.bytes[self.index]
    }

    private mutating func expect(_ byte: UInt8) throws {
        guard try self.next() == byte else { throw Self.error("has '\(Character(Unicode.Scalar(byte)))' missing at byte \(self.index - 1)") }
    }

    private mutating func skipWhitespace() {
        while let byte = self.peek(), byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { self.index += 1 }
    }

    private mutating func value(depth: Int) throws -> JSONValue {
        guard depth < Self.maximumDepth else { throw JWTError(.tooLarge, "the JSON nests deeper than \(Self.maximumDepth) levels") }
        self.skipWhitespace()
        guard let byte = self.peek() else { throw JWTError(.truncated, "the JSON ends early") }
        switch byte {
        case UInt8(ascii: "{"):
            self.index += 1
            var object = JSONObject()
            object.members.reserveCapacity(4)
            self.skipWhitespace()
            if self.peek() == UInt8(ascii: "}") { self.index += 1; return .object(object) }
            while true {
                self.skipWhitespace()
                guard self.peek() == UInt8(ascii: "\"") else { throw Self.error("has an object member without a string name") }
                let name = try self.string()
                self.skipWhitespace()
                try self.expect(UInt8(ascii: ":"))
                let value = try self.value(depth: depth + 1)
                guard object[name] == nil else { throw Self.error("names member \"\(name.prefix(32))\" twice") }
                guard object.members.count < Self.maximumMembers else { throw JWTError(.tooLarge, "a JSON object has more than \(Self.maximumMembers) members") }
                object.members.append((name, value))
                self.skipWhitespace()
                let separator = try self.next()
                if separator == UInt8(ascii: "}") { return .object(object) }
                guard separator == UInt8(ascii: ",") else { throw Self.error("has no ',' or '}' after a member") }
            }
        case UInt8(ascii: "["):
            self.index += 1
            var elements: [JSONValue] = []
            self.skipWhitespace()
            if self.peek() == UInt8(ascii: "]") { self.index += 1; return .array(elements) }
            while true {
                elements.append(try self.value(depth: depth + 1))
                self.skipWhitespace()
                let separator = try self.next()
                if separator == UInt8(ascii: "]") { return .array(elements) }
                guard separator == UInt8(ascii: ",") else { throw Self.error("has no ',' or ']' after an element") }
            }
        case UInt8(ascii: "\""):
            return .string(try self.string())
        case UInt8(ascii: "t"): try self.literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try self.literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try self.literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return try self.number()
        default:
            throw Self.error("has an unexpected byte 0x\(String(byte, radix: 16)) at \(self.index)")
        }
    }

    private mutating func literal(_ word: StaticString) throws {
        let text = UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount)
        guard self.bytes.count - self.index >= text.count, self.bytes[self.index..<self.index + text.count].elementsEqual(text) else {
            throw Self.error("has an unknown literal at byte \(self.index)")
        }
        self.index += text.count
    }

    private mutating func number() throws -> JSONValue {
        let start = self.index
        if self.peek() == UInt8(ascii: "-") { self.index += 1 }
        let digitsStart = self.index
        while let byte = self.peek(), byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") { self.index += 1 }
        let digits = self.index - digitsStart
        guard digits > 0, !(digits > 1 && self.bytes[digitsStart] == UInt8(ascii: "0")) else { throw Self.error("has a malformed number") }
        var integral = true
        if self.peek() == UInt8(ascii: ".") {
            integral = false
            self.index += 1
            let fraction = self.index
            while let byte = self.peek(), byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") { self.index += 1 }
            guard self.index > fraction else { throw Self.error("has a malformed number") }
        }
        if let byte = self.peek(), byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") {
            integral = false
            self.index += 1
            if let sign = self.peek(), sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") { self.index += 1 }
            let exponent = self.index
            while let byte = self.peek(), byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") { self.index += 1 }
            guard self.index > exponent else { throw Self.error("has a malformed number") }
        }
        guard self.index - start <= 32 else { throw JWTError(.tooLarge, "the JSON has a number longer than 32 characters") }
        let text = String(decoding: self.bytes[start..<self.index], as: UTF8.self)
        if integral, let value = Int64(text) { return .integer(value) }
        guard let value = Double(text), value.isFinite else { throw Self.error("has a number out of range") }
        return .number(value)
    }

    private mutating func string() throws -> String {
        try self.expect(UInt8(ascii: "\""))
        let start = self.index
        // Fast path: no escapes.
        while let byte = self.peek(), byte != UInt8(ascii: "\""), byte != UInt8(ascii: "\\"), byte >= 0x20 { self.index += 1 }
        if self.peek() == UInt8(ascii: "\"") {
            defer { self.index += 1 }
            return try Self.validUTF8(self.bytes[start..<self.index])
        }
        var scalars = String.UnicodeScalarView()
        scalars.append(contentsOf: try Self.validUTF8(self.bytes[start..<self.index]).unicodeScalars)
        var run = self.index
        while true {
            let byte = try self.next()
            switch byte {
            case UInt8(ascii: "\""):
                scalars.append(contentsOf: try Self.validUTF8(self.bytes[run..<self.index - 1]).unicodeScalars)
                return String(scalars)
            case UInt8(ascii: "\\"):
                scalars.append(contentsOf: try Self.validUTF8(self.bytes[run..<self.index - 1]).unicodeScalars)
                scalars.append(try self.escape())
                run = self.index
            case 0..<0x20:
                throw Self.error("has a control character in a string")
            default:
                continue
            }
        }
    }

    private mutating func escape() throws -> Unicode.Scalar {
        switch try self.next() {
        case UInt8(ascii: "\""): return "\""
        case UInt8(ascii: "\\"): return "\\"
        case UInt8(ascii: "/"): return "/"
        case UInt8(ascii: "b"): return "\u{08}"
        case UInt8(ascii: "f"): return "\u{0C}"
        case UInt8(ascii: "n"): return "\n"
        case UInt8(ascii: "r"): return "\r"
        case UInt8(ascii: "t"): return "\t"
        case UInt8(ascii: "u"):
            let first = try self.hex4()
            if (0xD800..<0xDC00).contains(first) {
                guard try self.next() == UInt8(ascii: "\\"), try self.next() == UInt8(ascii: "u") else { throw Self.error("has an unpaired surrogate") }
                let second = try self.hex4()
                guard (0xDC00..<0xE000).contains(second) else { throw Self.error("has an unpaired surrogate") }
                return Unicode.Scalar(0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00))!
            }
            guard let scalar = Unicode.Scalar(first) else { throw Self.error("has an unpaired surrogate") }
            return scalar
        default:
            throw Self.error("has an unknown escape")
        }
    }

    private mutating func hex4() throws -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = try self.next()
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw Self.error("has a bad \\u escape")
            }
            value = value << 4 | UInt32(digit)
        }
        return value
    }

    private static func validUTF8(_ bytes: ArraySlice<UInt8>) throws -> String {
        let text = bytes.withUnsafeBufferPointer { buffer -> String? in
            // ASCII (nearly every JWT string) needs no validation beyond this scan.
            buffer.allSatisfy { $0 < 0x80 } ? String(decoding: buffer, as: UTF8.self) : String(validating: buffer, as: UTF8.self)
        }
        guard let text else { throw Self.error("has a string that is not UTF-8") }
        return text
    }
}
