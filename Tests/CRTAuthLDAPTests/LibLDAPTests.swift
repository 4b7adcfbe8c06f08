@testable import CRTAuthLDAP
import Testing

@Suite("OpenLDAP's client library, loaded at run time")
struct LibLDAPTests {
    @Test("the installed library loads and names its result codes")
    func loads() throws {
        let ldap = try LibLDAP.shared.get()
        #expect(ldap.describe(LibLDAP.success) == "Success")
        #expect(ldap.describe(LibLDAP.noSuchObject) == "No such object")
    }

    @Test("a missing library is one line that names the packages to install")
    func missing() {
        guard case .failure(let error) = LibLDAP.load(sonames: ["libldap-not-installed.so.9"]) else {
            Issue.record("a library that does not exist loaded")
            return
        }
        #expect(!error.description.contains("\n"))
        for package in ["libldap2", "libldap-2.5-0", "openldap"] {
            #expect(error.description.contains(package))
        }
    }

    @Test("a library without LDAP's symbols is refused, naming what it lacks")
    func wrongLibrary() {
        guard case .failure(let error) = LibLDAP.load(sonames: ["libz.so.1"]) else {
            Issue.record("zlib was taken for libldap")
            return
        }
        #expect(error.description.contains("ldap_initialize"))
    }
}
