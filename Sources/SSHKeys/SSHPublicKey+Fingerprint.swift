import Crypto
import Foundation

extension SSHPublicKey {
    /// `SHA256:` and unpadded standard base64 of SHA-256 over the wire blob, exactly as
    /// `ssh-keygen -l` prints it.
    public var sha256Fingerprint: String {
        "SHA256:" + unpaddedBase64(SHA256.hash(data: self.wireBlob).withUnsafeBytes { Array($0) })
    }

    /// `MD5:` and colon-separated lower-case hex of MD5 over the wire blob, exactly as
    /// `ssh-keygen -l -E md5` prints it.
    public var md5Fingerprint: String {
        "MD5:" + Insecure.MD5.hash(data: self.wireBlob).map { String($0, radix: 16).leftPadded(to: 2) }.joined(separator: ":")
    }

    /// crtauth's key fingerprint: the first 6 bytes of SHA-1 over the wire blob.
    public var crtauthFingerprint: [UInt8] {
        Array(Insecure.SHA1.hash(data: self.wireBlob).prefix(6))
    }

    /// asymmetric_jwt_auth's `kid`: lower-case hex SHA-256 of the SubjectPublicKeyInfo PEM text
    /// (64-column lines, each ending in a newline). `nil` for keys without an SPKI form (FIDO keys).
    public var asymmetricJWTKeyID: String? {
        guard let pem = try? self.spkiPEM else { return nil }
        return SHA256.hash(data: Array(pem.utf8)).map { String($0, radix: 16).leftPadded(to: 2) }.joined()
    }
}

/// Standard-alphabet base64 without `=` padding, as fingerprints print it. Hand-rolled because
/// every authentication names its key this way and Foundation's encoder plus trimming cost more
/// than the rest of a token check.
func unpaddedBase64(_ bytes: [UInt8]) -> String {
    let alphabet: StaticString = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    let rest = bytes.count % 3
    let length = bytes.count / 3 * 4 + (rest == 0 ? 0 : rest + 1)
    return String(unsafeUninitializedCapacity: length) { out in
        let table = UnsafeBufferPointer(start: alphabet.utf8Start, count: 64)
        var o = 0, i = 0
        while i < bytes.count {
            let b0 = UInt32(bytes[i])
            let b1 = i + 1 < bytes.count ? UInt32(bytes[i + 1]) : 0
            let b2 = i + 2 < bytes.count ? UInt32(bytes[i + 2]) : 0
            let n = b0 << 16 | b1 << 8 | b2
            let produce = min(4, length - o)
            for k in 0..<produce { out[o + k] = table[Int((n >> UInt32(18 - 6 * k)) & 0x3F)] }
            o += produce
            i += 3
        }
        return length
    }
}
