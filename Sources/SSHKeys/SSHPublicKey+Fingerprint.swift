import Crypto
import Foundation

extension SSHPublicKey {
    /// `SHA256:` and unpadded standard base64 of SHA-256 over the wire blob, exactly as
    /// `ssh-keygen -l` prints it.
    public var sha256Fingerprint: String {
        "SHA256:" + unpaddedBase64(self.sha256Digest)
    }

    /// SHA-256 of the wire blob: the bytes behind ``sha256Fingerprint`` (and crtauth v2's key offers).
    public var sha256Digest: [UInt8] { Array(SHA256.hash(data: self.wireBlob)) }

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

