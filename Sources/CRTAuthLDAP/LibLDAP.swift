#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// OpenLDAP's client library, loaded when an LDAP store is first used rather than linked: the
/// default build then needs no `ldap.h` (Debian's libldap-dev), and a binary whose operator
/// never uses LDAP needs no libldap either. No Swift package speaks LDAP, and libldap's
/// TLS, SASL and referral handling is what directories are tested against, so we bind to it.
///
/// The library is looked up under fixed sonames only — never a path from the environment, a
/// store URL or a configuration file — and the few symbols we call are resolved by name. The
/// function types and constants below are transcribed from OpenLDAP's `ldap.h` and `lber.h`,
/// whose ABI has been stable since OpenLDAP 2.4 (LDAPv3 C API, RFC 1823's successor draft).
struct LibLDAP: @unchecked Sendable {  // immutable C function pointers into a library never unloaded
    /// `struct berval` of `lber.h`: `ber_len_t bv_len` (unsigned long), then `char *bv_val`.
    /// C function types cannot name a Swift struct, so it travels as a raw pointer.
    typealias BerValue = UnsafeMutableRawPointer
    static let berValueBytesOffset = MemoryLayout<UInt>.stride
    static let berValueSize = MemoryLayout<UInt>.stride + MemoryLayout<UnsafeMutableRawPointer?>.stride

    /// The bytes of a `struct berval`.
    static func bytes(of value: BerValue) -> UnsafeRawBufferPointer {
        let length = Int(value.load(as: UInt.self))
        let start = value.load(fromByteOffset: Self.berValueBytesOffset, as: UnsafeRawPointer?.self)
        return UnsafeRawBufferPointer(start: start, count: start == nil ? 0 : length)
    }

    /// Calls `body` with a `struct berval` over `bytes` (valid only during the call).
    static func withBerValue<Result>(_ bytes: UnsafeMutableRawBufferPointer, _ body: (BerValue) -> Result) -> Result {
        let value = UnsafeMutableRawPointer.allocate(byteCount: Self.berValueSize, alignment: MemoryLayout<UInt>.alignment)
        defer { value.deallocate() }
        value.storeBytes(of: UInt(bytes.count), as: UInt.self)
        value.storeBytes(of: bytes.baseAddress, toByteOffset: Self.berValueBytesOffset, as: UnsafeMutableRawPointer?.self)
        return body(value)
    }

    // ldap.h's constants, by value.
    static let success: Int32 = 0x00
    static let sizeLimitExceeded: Int32 = 0x04
    static let noSuchObject: Int32 = 0x20
    static let version3: Int32 = 3
    static let scopeBase: Int32 = 0
    static let scopeSubtree: Int32 = 2
    static let optionProtocolVersion: Int32 = 0x0011
    static let optionReferrals: Int32 = 0x0008
    static let optionTimeout: Int32 = 0x5002
    static let optionNetworkTimeout: Int32 = 0x5005

    typealias Handle = OpaquePointer
    typealias Message = OpaquePointer

    let initialize: @convention(c) (UnsafeMutablePointer<Handle?>, UnsafePointer<CChar>?) -> Int32
    let unbind: @convention(c) (Handle, OpaquePointer?, OpaquePointer?) -> Int32
    let setOption: @convention(c) (Handle?, Int32, UnsafeRawPointer?) -> Int32
    let startTLS: @convention(c) (Handle, OpaquePointer?, OpaquePointer?) -> Int32
    // ldap_sasl_bind_s(ld, dn, mechanism, credential, server controls, client controls, server credential)
    let saslBind: @convention(c) (Handle, UnsafePointer<CChar>?, UnsafePointer<CChar>?, BerValue?,
                                  OpaquePointer?, OpaquePointer?, UnsafeMutablePointer<BerValue?>?) -> Int32
    // ldap_search_ext_s(ld, base, scope, filter, attributes, attributes only, server controls, client controls, timeout, size limit, result)
    let search: @convention(c) (Handle, UnsafePointer<CChar>?, Int32, UnsafePointer<CChar>?, UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
                                Int32, OpaquePointer?, OpaquePointer?, UnsafeMutablePointer<timeval>?, Int32, UnsafeMutablePointer<Message?>?) -> Int32
    let freeMessage: @convention(c) (Message?) -> Int32
    let firstEntry: @convention(c) (Handle, Message?) -> Message?
    let nextEntry: @convention(c) (Handle, Message?) -> Message?
    let distinguishedName: @convention(c) (Handle, Message?) -> UnsafeMutablePointer<CChar>?
    let freeMemory: @convention(c) (UnsafeMutableRawPointer?) -> Void
    let values: @convention(c) (Handle, Message?, UnsafePointer<CChar>?) -> UnsafeMutablePointer<BerValue?>?
    let freeValues: @convention(c) (UnsafeMutablePointer<BerValue?>?) -> Void
    let errorString: @convention(c) (Int32) -> UnsafeMutablePointer<CChar>?

    /// The sonames tried, newest first: OpenLDAP 2.6 (Debian 13, Ubuntu 24.04, Fedora) installs
    /// `libldap.so.2`, OpenLDAP 2.5 (Debian 12, Ubuntu 22.04) `libldap-2.5.so.0`.
    #if canImport(Darwin)
    static let sonames = ["libldap.dylib"]
    #else
    static let sonames = ["libldap.so.2", "libldap-2.5.so.0"]
    #endif

    /// What an operator without the library reads, once, at start-up.
    static let missingLibraryAdvice =
        "the LDAP store needs OpenLDAP's client library (\(sonames.joined(separator: " or "))), which is not installed: "
        + "install libldap2 (Debian 13, Ubuntu 24.04) or libldap-2.5-0 (Debian 12, Ubuntu 22.04), or openldap (Fedora, RHEL)"

    /// The library, loaded on first use; a failure is remembered and reported the same way each time.
    static let shared: Result<LibLDAP, LibLDAPLoadError> = load(sonames: sonames)

    static func load(sonames: [String]) -> Result<LibLDAP, LibLDAPLoadError> {
        guard let library = sonames.lazy.compactMap({ dlopen($0, RTLD_NOW | RTLD_LOCAL) }).first else {
            return .failure(LibLDAPLoadError(description: Self.missingLibraryAdvice))
        }
        var missing: [String] = []
        func symbol<T>(_ name: String, as type: T.Type) -> T? {
            guard let address = dlsym(library, name) else {
                missing.append(name)
                return nil
            }
            return unsafeBitCast(address, to: type)
        }
        let initialize = symbol("ldap_initialize", as: (@convention(c) (UnsafeMutablePointer<Handle?>, UnsafePointer<CChar>?) -> Int32).self)
        let unbind = symbol("ldap_unbind_ext_s", as: (@convention(c) (Handle, OpaquePointer?, OpaquePointer?) -> Int32).self)
        let setOption = symbol("ldap_set_option", as: (@convention(c) (Handle?, Int32, UnsafeRawPointer?) -> Int32).self)
        let startTLS = symbol("ldap_start_tls_s", as: (@convention(c) (Handle, OpaquePointer?, OpaquePointer?) -> Int32).self)
        let saslBind = symbol("ldap_sasl_bind_s", as: (@convention(c) (Handle, UnsafePointer<CChar>?, UnsafePointer<CChar>?, BerValue?,
                                                                      OpaquePointer?, OpaquePointer?, UnsafeMutablePointer<BerValue?>?) -> Int32).self)
        let search = symbol("ldap_search_ext_s", as: (@convention(c) (Handle, UnsafePointer<CChar>?, Int32, UnsafePointer<CChar>?, UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
                                                                      Int32, OpaquePointer?, OpaquePointer?, UnsafeMutablePointer<timeval>?, Int32, UnsafeMutablePointer<Message?>?) -> Int32).self)
        let freeMessage = symbol("ldap_msgfree", as: (@convention(c) (Message?) -> Int32).self)
        let firstEntry = symbol("ldap_first_entry", as: (@convention(c) (Handle, Message?) -> Message?).self)
        let nextEntry = symbol("ldap_next_entry", as: (@convention(c) (Handle, Message?) -> Message?).self)
        let distinguishedName = symbol("ldap_get_dn", as: (@convention(c) (Handle, Message?) -> UnsafeMutablePointer<CChar>?).self)
        let freeMemory = symbol("ldap_memfree", as: (@convention(c) (UnsafeMutableRawPointer?) -> Void).self)
        let values = symbol("ldap_get_values_len", as: (@convention(c) (Handle, Message?, UnsafePointer<CChar>?) -> UnsafeMutablePointer<BerValue?>?).self)
        let freeValues = symbol("ldap_value_free_len", as: (@convention(c) (UnsafeMutablePointer<BerValue?>?) -> Void).self)
        let errorString = symbol("ldap_err2string", as: (@convention(c) (Int32) -> UnsafeMutablePointer<CChar>?).self)
        guard let initialize, let unbind, let setOption, let startTLS, let saslBind, let search, let freeMessage, let firstEntry,
              let nextEntry, let distinguishedName, let freeMemory, let values, let freeValues, let errorString else {
            dlclose(library)
            return .failure(LibLDAPLoadError(description: "OpenLDAP's client library lacks \(missing.joined(separator: ", ")): it is older than 2.4 or not OpenLDAP's"))
        }
        return .success(LibLDAP(
            initialize: initialize, unbind: unbind, setOption: setOption, startTLS: startTLS, saslBind: saslBind, search: search,
            freeMessage: freeMessage, firstEntry: firstEntry, nextEntry: nextEntry, distinguishedName: distinguishedName,
            freeMemory: freeMemory, values: values, freeValues: freeValues, errorString: errorString))
    }

    /// libldap's text for a result code.
    func describe(_ code: Int32) -> String {
        self.errorString(code).map { String(cString: $0) } ?? "LDAP error \(code)"
    }
}

/// OpenLDAP's client library could not be loaded; the description says what to install.
struct LibLDAPLoadError: Error, CustomStringConvertible {
    let description: String
}
