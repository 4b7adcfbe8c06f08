import Foundation

/// A certificate authority of one test, made with openssl: it issues server certificates for
/// 127.0.0.1 and localhost. Clients trust it through ``certificate``.
public struct TestCertificateAuthority: Sendable {
    /// The CA's certificate (PEM): what curl's `--cacert` and Python's `verify=` are given.
    public let certificate: String
    let key: String
    let directory: TemporaryDirectory

    public init(_ directory: TemporaryDirectory, name: String = "test-ca") throws {
        self.directory = directory
        self.certificate = directory.file("\(name).crt")
        self.key = directory.file("\(name).key")
        try mustRun("/usr/bin/openssl", [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", self.key, "-out", self.certificate,
            "-days", "2", "-subj", "/CN=crtauth \(name)", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        ])
    }

    /// A server certificate signed by this CA, as a chain file (leaf, then the CA) and its key.
    public func issue(_ name: String, serial: Int = 1) throws -> (certificate: String, key: String) {
        let key = self.directory.file("\(name).key"), request = self.directory.file("\(name).csr")
        let leaf = self.directory.file("\(name).leaf.crt"), chain = self.directory.file("\(name).crt")
        let extensions = try self.directory.write("\(name).ext", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n")
        try mustRun("/usr/bin/openssl", ["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", request, "-subj", "/CN=127.0.0.1"])
        try mustRun("/usr/bin/openssl", [
            "x509", "-req", "-in", request, "-CA", self.certificate, "-CAkey", self.key, "-set_serial", String(serial), "-days", "1", "-out", leaf, "-extfile", extensions,
        ])
        try (try String(contentsOfFile: leaf, encoding: .utf8) + String(contentsOfFile: self.certificate, encoding: .utf8)).write(toFile: chain, atomically: true, encoding: .utf8)
        return (chain, key)
    }
}
