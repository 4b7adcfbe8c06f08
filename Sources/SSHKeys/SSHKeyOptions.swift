import Foundation

/// One option of an `authorized_keys` or `allowed_signers` line: `name` or `name="value"`.
public struct SSHKeyOption: Hashable, Sendable {
    /// The option name, lower-cased (option names are case-insensitive).
    public let name: String
    /// The value of a `name="value"` option, unescaped.
    public let value: String?

    public init(name: String, value: String? = nil) {
        self.name = name.lowercased()
        self.value = value
    }
}

/// Longest `authorized_keys` / `allowed_signers` line we read (sshd's limit is 8 KB; RSA-16384
/// keys with long option lists need more).
public let maximumKeyListLineLength = 32 * 1024

/// The known key and certificate type names, which end an option list.
func isKeyTypeName(_ token: some StringProtocol) -> Bool {
    SSHKeyType(name: token) != nil || SSHKeyType.forCertificateName(token) != nil
}

/// Parses `name[="value"],…` up to the first unquoted blank; returns the options and the rest.
func parseKeyOptions(_ text: Substring) throws -> (options: [SSHKeyOption], rest: Substring) {
    var options: [SSHKeyOption] = []
    var index = text.startIndex
    while index < text.endIndex {
        var name = ""
        while index < text.endIndex, text[index] != "=", text[index] != ",", text[index] != " ", text[index] != "\t" {
            name.append(text[index])
            index = text.index(after: index)
        }
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "@" || $0 == "." }) else {
            throw SSHKeyError(.invalidLine, "malformed key option list")
        }
        var value: String?
        if index < text.endIndex, text[index] == "=" {
            index = text.index(after: index)
            guard index < text.endIndex, text[index] == "\"" else {
                throw SSHKeyError(.invalidLine, "the value of option \(SSHKeyError.quoted(name)) must be in double quotes")
            }
            index = text.index(after: index)
            var unquoted = ""
            var closed = false
            while index < text.endIndex {
                let c = text[index]
                if c == "\\", text.index(after: index) < text.endIndex, text[text.index(after: index)] == "\"" {
                    unquoted.append("\"")
                    index = text.index(index, offsetBy: 2)
                    continue
                }
                index = text.index(after: index)
                if c == "\"" {
                    closed = true
                    break
                }
                unquoted.append(c)
            }
            guard closed else { throw SSHKeyError(.invalidLine, "unterminated quote in option \(SSHKeyError.quoted(name))") }
            value = unquoted
        }
        options.append(SSHKeyOption(name: name, value: value))
        guard options.count <= SSHWireLimits.maxListEntries else {
            throw SSHKeyError(.limitExceeded, "too many key options")
        }
        if index < text.endIndex, text[index] == "," {
            index = text.index(after: index)
            continue
        }
        break
    }
    guard index < text.endIndex, text[index] == " " || text[index] == "\t" else {
        throw SSHKeyError(.invalidLine, "no key after the option list")
    }
    return (options, text[index...].drop { $0 == " " || $0 == "\t" })
}

/// Parses OpenSSH's `YYYYMMDD[HHMM[SS]][Z]` time (local time unless `Z`) into seconds since the epoch.
public func parseSSHTimestamp(_ text: String, timeZone: TimeZone = .current) throws -> UInt64 {
    var digits = Substring(text)
    var zone = timeZone
    if digits.hasSuffix("Z") || digits.hasSuffix("z") {
        digits = digits.dropLast()
        zone = TimeZone(identifier: "UTC") ?? timeZone
    }
    guard [8, 12, 14].contains(digits.count), digits.allSatisfy({ $0.isASCII && $0.isNumber }) else {
        throw SSHKeyError(.invalidLine, "time \(SSHKeyError.quoted(text)) is not YYYYMMDD[HHMM[SS]][Z]")
    }
    func field(_ offset: Int, _ length: Int) -> Int {
        let start = digits.index(digits.startIndex, offsetBy: offset)
        return Int(digits[start..<digits.index(start, offsetBy: length)]) ?? 0
    }
    var components = DateComponents()
    components.year = field(0, 4)
    components.month = field(4, 2)
    components.day = field(6, 2)
    components.hour = digits.count >= 12 ? field(8, 2) : 0
    components.minute = digits.count >= 12 ? field(10, 2) : 0
    components.second = digits.count == 14 ? field(12, 2) : 0
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = zone
    guard components.isValidDate(in: calendar), let date = calendar.date(from: components), date.timeIntervalSince1970 >= 0 else {
        throw SSHKeyError(.invalidLine, "time \(SSHKeyError.quoted(text)) is not a valid date")
    }
    return UInt64(date.timeIntervalSince1970)
}

/// Parses each non-blank, non-`#` line of a key list file with `parse`, prefixing errors with
/// the line number.
func parseKeyListLines<T>(_ text: some StringProtocol, _ parse: (String) throws -> T) throws -> [T] {
    var out: [T] = []
    for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
        let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
        do {
            out.append(try parse(trimmed))
        } catch let error as SSHKeyError {
            throw SSHKeyError(error.code, "line \(number + 1): \(error.message)")
        }
    }
    return out
}
