import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An OpenLDAP slapd of our own: a slapd.conf with the openssh-lpk schema, a directory loaded
/// with slapadd, listening on 127.0.0.1 at a free port, stopped by its pid.
public final class SlapdServer: @unchecked Sendable {
    public static let base = "dc=example,dc=com"
    public static let admin = "cn=admin,dc=example,dc=com"
    public static let password = "ldap-test-secret"
    public let directory: TemporaryDirectory
    public let port: Int
    private var child: ChildProcess?

    /// openssh-lpk's schema (attribute sshPublicKey, objectclass ldapPublicKey).
    static let schema = """
        attributetype ( 1.3.6.1.4.1.24552.500.1.1.1.13 NAME 'sshPublicKey'
            DESC 'OpenSSH public key' EQUALITY octetStringMatch
            SYNTAX 1.3.6.1.4.1.1466.115.121.1.40 )
        objectclass ( 1.3.6.1.4.1.24552.500.1.1.2.0 NAME 'ldapPublicKey' SUP top AUXILIARY
            DESC 'OpenSSH LPK objectclass' MAY ( sshPublicKey $ uid ) )
        """

    /// With `tls`, slapd also serves StartTLS on ``url`` and LDAPS on ``tlsURL`` with this
    /// certificate and key (PEM files).
    public let tls: (certificate: String, key: String)?
    public let tlsPort: Int

    public init(ldif: String, tls: (certificate: String, key: String)? = nil) throws {
        self.tls = tls
        for tool in ["/usr/sbin/slapd", "/usr/sbin/slapadd"] where !FileManager.default.isExecutableFile(atPath: tool) {
            throw ProcessError(message: "\(tool) is not installed: run the tests with ./scripts/test, which installs slapd")
        }
        self.directory = try TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: self.directory.file("db"), withIntermediateDirectories: true)
        _ = try self.directory.write("openssh-lpk.schema", Self.schema)
        let config = try self.directory.write("slapd.conf", """
            include /etc/ldap/schema/core.schema
            include /etc/ldap/schema/cosine.schema
            include /etc/ldap/schema/nis.schema
            include /etc/ldap/schema/inetorgperson.schema
            include \(self.directory.file("openssh-lpk.schema"))
            pidfile \(self.directory.file("slapd.pid"))
            modulepath /usr/lib/ldap
            moduleload back_mdb
            database mdb
            suffix "\(Self.base)"
            rootdn "\(Self.admin)"
            rootpw \(Self.password)
            directory \(self.directory.file("db"))
            access to * by * read
            """ + (tls.map { "\nTLSCertificateFile \($0.certificate)\nTLSCertificateKeyFile \($0.key)\n" } ?? ""))
        let data = try self.directory.write("data.ldif", ldif)
        try mustRun("/usr/sbin/slapadd", ["-f", config, "-l", data])
        self.port = try freePort()
        self.tlsPort = try freePort()
        try self.start()
    }

    public var url: String { "ldap://127.0.0.1:\(self.port)" }
    public var tlsURL: String { "ldaps://127.0.0.1:\(self.tlsPort)" }

    public func start() throws {
        let log = self.directory.file("slapd.log")
        let child = try ChildProcess("/usr/sbin/slapd", ["-f", self.directory.file("slapd.conf"), "-h", "ldap://127.0.0.1:\(self.port)/" + (self.tls == nil ? "" : " ldaps://127.0.0.1:\(self.tlsPort)/"), "-d", "0"], output: log)
        self.child = child
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            if (try? runProcess("/usr/bin/ldapsearch", ["-x", "-H", self.url, "-b", Self.base, "-s", "base", "-LLL", "dn"]))?.status == 0 { return }
            usleep(50_000)
        }
        child.stop()
        throw ProcessError(message: "slapd did not start: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
    }

    public func stop() {
        self.child?.stop()
        self.child = nil
    }

    deinit { self.stop() }
}
