import Crypto
import Foundation

/// The server's HMAC secrets with their key schedules done once.
///
/// HMAC (RFC 2104) is assembled here from swift-crypto's concrete hash states rather than
/// through its generic `HMAC<H>` type: the inner and outer states after the padded key block
/// are computed once per secret, so each MAC costs only the message and finalisation blocks,
/// and no generic code runs on the hot path (token validation must reach 1,000,000/s). Tests
/// check it against swift-crypto's `HMAC` byte for byte. Copies of the prepared states are
/// independent (swift-crypto's hash states are copy-on-write), so one object serves concurrent
/// requests; it is a class so that passing it around counts one reference, not two.
final class PreparedSecrets: Sendable {
    private struct Prepared<H: HashFunction>: Sendable {
        var inner: H
        var outer: H
    }

    private let sha256: [Prepared<SHA256>]
    private let sha1: [Prepared<Insecure.SHA1>]

    init(_ secrets: [SymmetricKey]) {
        self.sha256 = secrets.map { Self.prepare($0, as: SHA256.self) }
        self.sha1 = secrets.map { Self.prepare($0, as: Insecure.SHA1.self) }
    }

    private static func prepare<H: HashFunction>(_ secret: SymmetricKey, as: H.Type) -> Prepared<H> {
        var key = secret.withUnsafeBytes { Array($0) }
        if key.count > H.blockByteCount { key = Array(H.hash(data: key)) }
        key += [UInt8](repeating: 0, count: H.blockByteCount - key.count)
        var inner = H(), outer = H()
        inner.update(data: key.map { $0 ^ 0x36 })
        outer.update(data: key.map { $0 ^ 0x5C })
        return Prepared(inner: inner, outer: outer)
    }

    /// Writes the HMAC-SHA256 of `input` under the newest secret into `output` (32 bytes).
    func sha256MAC(of input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) {
        Self.mac(self.sha256[0], input) { output.copyMemory(from: $0) }
    }

    /// The HMAC-SHA1 of `input` under the newest secret.
    func sha1MAC(_ input: [UInt8]) -> [UInt8] {
        input.withUnsafeBytes { Self.mac(self.sha1[0], $0) { Array($0) } }
    }

    /// Computes the MAC and hands its bytes to `body` (no array is made to compare a MAC).
    @inline(__always)
    private static func mac<H: HashFunction, Result>(_ prepared: Prepared<H>, _ message: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> Result) -> Result {
        var inner = prepared.inner
        inner.update(bufferPointer: message)
        var outer = prepared.outer
        inner.finalize().withUnsafeBytes { outer.update(bufferPointer: $0) }
        return outer.finalize().withUnsafeBytes(body)
    }

    /// Whether `mac` is the v0 (HMAC-SHA1) or v1/v2 (HMAC-SHA256) MAC of `input` under any
    /// secret. Constant-time in the MAC bytes.
    func isValid(_ mac: UnsafeRawBufferPointer, over input: UnsafeRawBufferPointer, version: CRTAuthVersion) -> Bool {
        if version == .v0 {
            return self.sha1.contains { Self.mac($0, input) { constantTimeEqual($0, mac) } }
        }
        return self.sha256.contains { Self.mac($0, input) { constantTimeEqual($0, mac) } }
    }
}

/// Compares two byte sequences of equal length without an early exit.
func constantTimeEqual(_ computed: UnsafeRawBufferPointer, _ expected: UnsafeRawBufferPointer) -> Bool {
    guard computed.count == expected.count else { return false }
    var difference: UInt8 = 0
    for i in 0..<computed.count { difference |= computed[i] ^ expected[i] }
    return difference == 0
}

extension RandomAccessCollection<UInt8> where Index == Int {
    /// Hands `body` the bytes at `range` (indices of this collection) in place, without making
    /// a slice — each of which, of an array, would count a reference to its buffer.
    func withBytes<Result>(at range: Range<Int>, _ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        let start = range.lowerBound - self.startIndex, end = range.upperBound - self.startIndex
        if let result = try self.withContiguousStorageIfAvailable({ try body(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: $0[start..<end]))) }) {
            return result
        }
        return try Array(self[range]).withUnsafeBytes(body)
    }
}
