import Foundation
import SSHKeys

/// Lower-case hex.
public func hex(_ bytes: some Sequence<UInt8>) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

/// Bytes from hex (test fixtures only: traps on malformed hex).
public func unhex(_ text: String) -> [UInt8] {
    var out: [UInt8] = []
    var index = text.startIndex
    while index < text.endIndex {
        let next = text.index(index, offsetBy: 2)
        out.append(UInt8(text[index..<next], radix: 16)!)
        index = next
    }
    return out
}

/// An OpenSSH user certificate for `key`, signed by `ca`, built field by field with the SSH wire
/// writer (serial 7, key id `test-cert`, valid from the epoch until `validBefore`).
public func makeCertificate(for key: SSHPublicKey, ca: SSHPrivateKey, principals: [String], validBefore: UInt64 = .max) throws -> SSHCertificate {
    try SSHCertificate(wireBlob: makeCertificateBlob(for: key, ca: ca, principals: principals, validBefore: validBefore))
}

/// The wire blob of ``makeCertificate(for:ca:principals:validBefore:)``, unparsed (so it may
/// break our own limits).
public func makeCertificateBlob(for key: SSHPublicKey, ca: SSHPrivateKey, principals: [String], validBefore: UInt64 = .max) throws -> [UInt8] {
    var w = SSHWireWriter()
    w.writeString(key.type.certificateName)
    w.writeString([UInt8](repeating: 9, count: 32))
    var fields = SSHWireReader(key.wireBlob, what: "key")
    _ = try fields.readString()
    w.writeRaw(fields.remaining)
    w.writeUInt64(7)
    w.writeUInt32(1)
    w.writeString("test-cert")
    var p = SSHWireWriter()
    for principal in principals { p.writeString(principal) }
    w.writeString(p.bytes)
    w.writeUInt64(0)
    w.writeUInt64(validBefore)
    w.writeString([UInt8]())
    w.writeString([UInt8]())
    w.writeString([UInt8]())
    w.writeString(ca.publicKey.wireBlob)
    w.writeString(try ca.signature(for: w.bytes).wireBlob)
    return w.bytes
}
