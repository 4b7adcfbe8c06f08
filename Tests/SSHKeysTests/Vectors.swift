import Foundation

/// Test vector files shipped with this target (see Vectors/README.md for provenance).
enum Vectors {
    static func url(_ path: String) -> URL {
        Bundle.module.url(forResource: "Vectors", withExtension: nil)!.appendingPathComponent(path)
    }

    static func text(_ path: String) throws -> String { try String(contentsOf: url(path), encoding: .utf8) }
    static func bytes(_ path: String) throws -> [UInt8] { Array(try Data(contentsOf: url(path))) }
}

func hex(_ bytes: some Sequence<UInt8>) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

func unhex(_ text: String) -> [UInt8] {
    var out: [UInt8] = []
    var index = text.startIndex
    while index < text.endIndex {
        let next = text.index(index, offsetBy: 2)
        out.append(UInt8(text[index..<next], radix: 16)!)
        index = next
    }
    return out
}
