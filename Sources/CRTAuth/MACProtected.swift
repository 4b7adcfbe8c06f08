import Crypto

/// A message whose bytes carry a server MAC: HMAC-SHA1 for v0, HMAC-SHA256 for v1/v2.
protocol MACProtected {
    var version: CRTAuthVersion { get }
    /// The message; the ranges are its indices.
    var storage: ArraySlice<UInt8> { get }
    var macInput: Range<Int> { get }
    var macRange: Range<Int> { get }
}

extension MACProtected {
    func isAuthentic(_ secrets: PreparedSecrets) -> Bool {
        self.storage.withBytes(at: self.macRange) { mac in
            self.storage.withBytes(at: self.macInput) { secrets.isValid(mac, over: $0, version: self.version) }
        }
    }
}

/// v0's MAC wrapper: `'v' ‖ HMAC-SHA1(inner)[20] ‖ opaque(inner)`.
enum VerifiablePayload {
    static func wrap(_ inner: [UInt8], secrets: PreparedSecrets) -> (bytes: [UInt8], macInput: Range<Int>, macRange: Range<Int>) {
        var outer = XDRWriter()
        outer.writeMagic(Magic.verifiable)
        outer.writeFixed(secrets.sha1MAC(inner))
        outer.writeOpaque(inner)
        return (outer.bytes, 28..<(28 + inner.count), 4..<24)
    }

    /// Returns where the inner payload and the MAC are in `bytes`.
    static func unwrap<Bytes: RandomAccessCollection<UInt8>>(_ bytes: Bytes, what: String, limit: Int) throws -> (payload: Range<Int>, mac: Range<Int>) where Bytes.Index == Int {
        var outer = XDRReader(bytes, what: what)
        try outer.readMagic(Magic.verifiable)
        let mac = try outer.readFixed(20, "HMAC")
        let payload = try outer.readOpaque("payload", limit: limit)
        try outer.expectEnd()
        return (payload.startIndex..<payload.endIndex, mac.startIndex..<mac.endIndex)
    }
}

extension Range<Int> {
    func shifted(by offset: Int) -> Range<Int> { (self.lowerBound + offset)..<(self.upperBound + offset) }
}

extension MessagePackReader {
    /// Reads a v1/v2 message's version (one of `versions`) and magic byte.
    mutating func readHeader(_ magic: UInt8, _ kind: String, versions: ClosedRange<CRTAuthVersion>) throws -> CRTAuthVersion {
        let number = try self.readUInt("version")
        guard let version = CRTAuthVersion(number: number), versions.contains(version) else {
            throw CRTAuthError(.unsupportedVersion, "\(kind) version \(number) is not supported")
        }
        guard try self.readUInt("magic") == UInt64(magic) else {
            throw CRTAuthError(.wrongMessageType, "not a \(kind)")
        }
        return version
    }

    /// Reads the final 32-byte HMAC `bin`; returns what it covers and where it is.
    mutating func readFinalMAC() throws -> (input: Range<Int>, mac: Range<Int>) {
        let input = self.messageStart..<self.offset
        let mac = try self.readBinaryRange("HMAC", limit: 32)
        guard mac.count == 32 else { throw CRTAuthError(.malformed, "the HMAC must be 32 bytes") }
        try self.expectEnd()
        return (input, mac)
    }
}
