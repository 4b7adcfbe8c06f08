import Foundation

// PEM armor (RFC 7468) is small enough to do here; we need the exact line layout of
// asymmetric_jwt_auth's fingerprint and OpenSSH's 70-column armor.

/// A PEM block: its label and DER body.
package struct PEMBlock: Sendable {
    package var label: String
    package var der: [UInt8]
    package var headers: [String: String]

    package init(label: String, der: [UInt8], headers: [String: String] = [:]) {
        self.label = label
        self.der = der
        self.headers = headers
    }

    /// Largest PEM document we read.
    static let maximumLength = 256 * 1024

    /// Parses the first PEM block in `text`.
    package init(parsing text: some StringProtocol) throws {
        guard text.utf8.count <= Self.maximumLength else {
            throw SSHKeyError(.limitExceeded, "PEM input is longer than \(Self.maximumLength) bytes")
        }
        let lines = text.split(omittingEmptySubsequences: true, whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
        guard let begin = lines.firstIndex(where: { $0.hasPrefix("-----BEGIN ") && $0.hasSuffix("-----") }) else {
            throw SSHKeyError(.invalidPEM, "no '-----BEGIN …-----' line")
        }
        let label = String(lines[begin].dropFirst("-----BEGIN ".count).dropLast(5))
        guard let end = lines[(begin + 1)...].firstIndex(of: "-----END \(label)-----") else {
            throw SSHKeyError(.invalidPEM, "no '-----END \(label)-----' line")
        }
        var headers: [String: String] = [:]
        var body = ""
        for line in lines[(begin + 1)..<end] {
            if body.isEmpty, let colon = line.firstIndex(of: ":") {
                headers[String(line[..<colon])] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            } else {
                body += line
            }
        }
        self.label = label
        self.headers = headers
        self.der = try decodeBase64(body, what: "PEM body")
    }

    /// The armored text with `width`-column lines, each ending in a newline.
    package func armored(width: Int = 64) -> String {
        let b64 = Data(self.der).base64EncodedString()
        var out = "-----BEGIN \(self.label)-----\n"
        var index = b64.startIndex
        while index < b64.endIndex {
            let next = b64.index(index, offsetBy: width, limitedBy: b64.endIndex) ?? b64.endIndex
            out += b64[index..<next] + "\n"
            index = next
        }
        return out + "-----END \(self.label)-----\n"
    }
}
