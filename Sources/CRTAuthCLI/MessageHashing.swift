import Crypto
import Foundation
import SSHKeys

/// Hashes a file (or stdin for `-`) in 1 MiB chunks, so messages of any size can be signed.
func hashMessage(path: String, algorithm: SSHSigHashAlgorithm) throws -> [UInt8] {
    let handle: FileHandle
    if path == "-" {
        handle = FileHandle.standardInput
    } else {
        guard let opened = FileHandle(forReadingAtPath: path) else {
            throw CLIFailure(message: "cannot read \(path): \(String(cString: strerror(errno)))")
        }
        handle = opened
    }
    defer { if path != "-" { try? handle.close() } }
    var sha256 = SHA256()
    var sha512 = SHA512()
    while true {
        let chunk = handle.readData(ofLength: 1 << 20)
        if chunk.isEmpty { break }
        if algorithm == .sha256 { sha256.update(data: chunk) } else { sha512.update(data: chunk) }
    }
    return algorithm == .sha256 ? Array(sha256.finalize()) : Array(sha512.finalize())
}
