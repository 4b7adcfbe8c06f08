// The SSH binary wire format (RFC 4251 §5) is written by hand here: no package on this
// platform exposes a bounds-checked reader for it. Only the subset SSH keys, signatures,
// certificates, SSHSIG and the agent protocol use.

/// Named limits for every length we accept from untrusted input.
public enum SSHWireLimits {
    /// Largest `string` field we read: a 16384-bit RSA certificate with many principals fits
    /// comfortably; anything larger is not an SSH key, signature or agent message.
    public static let maxStringLength = 256 * 1024
    /// Largest `mpint`: a 16384-bit RSA modulus is 2048 bytes plus one sign byte.
    public static let maxMPIntLength = 2049
    /// Most entries in a name-list or packed string list (certificate principals, say).
    public static let maxListEntries = 256
}

/// A bounds-checked reader over SSH wire-format bytes. Every read either succeeds or throws
/// ``SSHKeyError/Code-swift.struct/truncated``; nothing traps.
package struct SSHWireReader {
    private var bytes: ArraySlice<UInt8>
    private let what: String

    /// - Parameter what: names the message in error texts ("public key blob").
    package init(_ bytes: some Collection<UInt8>, what: String) {
        self.bytes = ArraySlice(bytes)
        self.what = what
    }

    package var isAtEnd: Bool { self.bytes.isEmpty }
    package var remaining: ArraySlice<UInt8> { self.bytes }
    package var remainingCount: Int { self.bytes.count }

    package mutating func readByte() throws -> UInt8 {
        guard let byte = self.bytes.first else { throw self.truncated("byte") }
        self.bytes = self.bytes.dropFirst()
        return byte
    }

    package mutating func readBool() throws -> Bool { try self.readByte() != 0 }

    package mutating func readUInt32() throws -> UInt32 {
        let raw = try self.readBytes(4, field: "uint32")
        return raw.reduce(0) { ($0 << 8) | UInt32($1) }
    }

    package mutating func readUInt64() throws -> UInt64 {
        let raw = try self.readBytes(8, field: "uint64")
        return raw.reduce(0) { ($0 << 8) | UInt64($1) }
    }

    package mutating func readBytes(_ count: Int, field: String = "bytes") throws -> ArraySlice<UInt8> {
        guard count >= 0, count <= self.bytes.count else { throw self.truncated(field) }
        let out = self.bytes.prefix(count)
        self.bytes = self.bytes.dropFirst(count)
        return out
    }

    /// Reads an SSH `string`: uint32 length then that many bytes.
    package mutating func readString(
        field: String = "string",
        limit: Int = SSHWireLimits.maxStringLength
    ) throws -> ArraySlice<UInt8> {
        let length = try self.readUInt32()
        guard let count = Int(exactly: length), count <= limit else {
            throw SSHKeyError(.limitExceeded, "\(self.what): \(field) of \(length) bytes exceeds the limit of \(limit)")
        }
        return try self.readBytes(count, field: field)
    }

    /// Reads a `string` that must be printable ASCII/UTF-8 text (type names, namespaces).
    package mutating func readText(field: String = "string", limit: Int = 1024) throws -> String {
        let raw = try self.readString(field: field, limit: limit)
        // ASCII (nearly every name in a blob) decodes directly: `String(validating:as:)` is
        // generic over the encoding and slower.
        if raw.allSatisfy({ $0 < 0x80 }) { return String(decoding: raw, as: UTF8.self) }
        guard let text = String(validating: raw, as: UTF8.self) else {
            throw SSHKeyError(.invalidEncoding, "\(self.what): \(field) is not UTF-8")
        }
        return text
    }

    /// Reads an `mpint` that must be non-negative and minimally encoded, returning its magnitude
    /// without leading zeros.
    package mutating func readPositiveMPInt(
        field: String = "mpint",
        limit: Int = SSHWireLimits.maxMPIntLength
    ) throws -> ArraySlice<UInt8> {
        let raw = try self.readString(field: field, limit: limit)
        guard let first = raw.first else { return raw }
        if first & 0x80 != 0 {
            throw SSHKeyError(.invalidEncoding, "\(self.what): \(field) is negative")
        }
        if first == 0 {
            // A leading zero is only allowed to keep the sign bit clear.
            guard raw.count > 1, raw[raw.startIndex + 1] & 0x80 != 0 else {
                throw SSHKeyError(.invalidEncoding, "\(self.what): \(field) is not minimally encoded")
            }
            return raw.dropFirst()
        }
        return raw
    }

    /// Reads a comma-separated `name-list`.
    package mutating func readNameList(field: String = "name-list") throws -> [String] {
        let text = try self.readText(field: field, limit: 64 * 1024)
        if text.isEmpty { return [] }
        let names = text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard names.count <= SSHWireLimits.maxListEntries else {
            throw SSHKeyError(.limitExceeded, "\(self.what): \(field) has more than \(SSHWireLimits.maxListEntries) entries")
        }
        return names
    }

    /// Throws unless every byte has been consumed.
    package func expectEnd() throws {
        guard self.bytes.isEmpty else {
            throw SSHKeyError(.trailingBytes, "\(self.what): \(self.bytes.count) unexpected trailing bytes")
        }
    }

    private func truncated(_ field: String) -> SSHKeyError {
        SSHKeyError(.truncated, "\(self.what) ends before its \(field) is complete")
    }
}

/// Builds SSH wire-format bytes.
package struct SSHWireWriter {
    package private(set) var bytes: [UInt8] = []

    package init() {}

    package mutating func writeByte(_ byte: UInt8) { self.bytes.append(byte) }

    package mutating func writeUInt32(_ value: UInt32) {
        self.bytes.append(contentsOf: [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)])
    }

    package mutating func writeUInt64(_ value: UInt64) {
        self.writeUInt32(UInt32(value >> 32))
        self.writeUInt32(UInt32(value & 0xFFFF_FFFF))
    }

    package mutating func writeRaw(_ raw: some Sequence<UInt8>) { self.bytes.append(contentsOf: raw) }

    package mutating func writeString(_ raw: some Collection<UInt8>) {
        self.writeUInt32(UInt32(truncatingIfNeeded: raw.count))
        self.bytes.append(contentsOf: raw)
    }

    package mutating func writeString(_ text: String) { self.writeString(Array(text.utf8)) }

    /// Writes a non-negative integer given as big-endian magnitude bytes as an `mpint`.
    package mutating func writePositiveMPInt(_ magnitude: some Collection<UInt8>) {
        let trimmed = magnitude.drop { $0 == 0 }
        if let first = trimmed.first, first & 0x80 != 0 {
            self.writeUInt32(UInt32(truncatingIfNeeded: trimmed.count + 1))
            self.bytes.append(0)
            self.bytes.append(contentsOf: trimmed)
        } else {
            self.writeString(Array(trimmed))
        }
    }

    package mutating func writeNameList(_ names: [String]) { self.writeString(names.joined(separator: ",")) }
}
