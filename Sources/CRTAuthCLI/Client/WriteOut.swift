import Foundation

/// `crtauth curl -w FORMAT`: curl's write-out variables that a script checks most, with curl's
/// formatting (`%{http_code}` three digits, `%{time_total}` seconds with six decimals).
struct WriteOut {
    struct Summary {
        var httpCode: Int
        var totalSeconds: Double
        var downloadSize: Int
        var effectiveURL: String
        var redirects: Int
        var contentType: String
    }

    enum Piece {
        case text(String)
        case variable(String)
    }

    static let variables = ["http_code", "response_code", "time_total", "size_download", "url_effective", "num_redirects", "content_type"]
    let pieces: [Piece]

    /// Parses `%{name}`, `%%` and the escapes `\n`, `\r`, `\t`, `\\`; an unknown variable is an error.
    init(format: String) throws {
        var pieces: [Piece] = []
        var text = ""
        var rest = Substring(format)
        while let character = rest.first {
            rest = rest.dropFirst()
            switch character {
            case "\\":
                let escaped = rest.first
                switch escaped {
                case "n": text += "\n"
                case "r": text += "\r"
                case "t": text += "\t"
                case "\\": text += "\\"
                default: text += "\\"; continue
                }
                rest = rest.dropFirst()
            case "%" where rest.first == "%":
                text += "%"
                rest = rest.dropFirst()
            case "%" where rest.first == "{":
                guard let close = rest.firstIndex(of: "}") else { throw CLIFailure(message: "-w: '%{' without '}'") }
                let name = String(rest[rest.index(after: rest.startIndex)..<close])
                guard Self.variables.contains(name) else {
                    throw CLIFailure(message: "-w: unknown variable %{\(name)}; known: \(Self.variables.joined(separator: ", "))")
                }
                if !text.isEmpty { pieces.append(.text(text)) }
                text = ""
                pieces.append(.variable(name))
                rest = rest[rest.index(after: close)...]
            default:
                text.append(character)
            }
        }
        if !text.isEmpty { pieces.append(.text(text)) }
        self.pieces = pieces
    }

    func render(_ summary: Summary) -> String {
        self.pieces.map { piece in
            switch piece {
            case .text(let text): return text
            case .variable(let name):
                switch name {
                case "http_code", "response_code": return String(format: "%03d", summary.httpCode)
                case "time_total": return String(format: "%.6f", summary.totalSeconds)
                case "size_download": return String(summary.downloadSize)
                case "url_effective": return summary.effectiveURL
                case "num_redirects": return String(summary.redirects)
                default: return summary.contentType
                }
            }
        }.joined()
    }
}
