import Foundation

/// Test vector files shipped with this target (see Vectors/README.md for provenance).
enum Vectors {
    static func url(_ path: String) -> URL {
        Bundle.module.url(forResource: "Vectors", withExtension: nil)!.appendingPathComponent(path)
    }

    static func text(_ path: String) throws -> String { try String(contentsOf: url(path), encoding: .utf8) }
    static func bytes(_ path: String) throws -> [UInt8] { Array(try Data(contentsOf: url(path))) }
}
