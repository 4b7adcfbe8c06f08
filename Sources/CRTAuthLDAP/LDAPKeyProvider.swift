import AuthCore
import Foundation
import NIOPosix
import SSHKeys
import Synchronization

/// Users' SSH keys from an LDAP directory (`sshPublicKey` of the openssh-lpk schema), through
/// OpenLDAP's libldap. Its calls block, so they run on NIO's blocking thread pool, never on an
/// event loop; each lookup binds, searches and unbinds on its own connection, within
/// ``Configuration/timeout``. Lookups are cached for ``Configuration/cacheTTL`` seconds.
///
/// Usernames go into the filter escaped per RFC 4515; usernames with NUL or control characters
/// are "no such user" without a search. An unreachable directory is a
/// ``AuthCoreError/Code-swift.struct/keyProvider`` error (the gateway answers 503).
public final class LDAPKeyProvider: KeyProvider, HealthChecking, Sendable {
    public struct Configuration: Sendable {
        /// `ldap://HOST[:PORT]` or `ldaps://HOST[:PORT]`.
        public var url: String
        /// Upgrade an `ldap://` connection with StartTLS (required to succeed).
        public var startTLS: Bool
        /// Simple bind; anonymous when nil.
        public var bindDN: String?
        public var bindPassword: String?
        /// Where users are searched (subtree).
        public var baseDN: String
        /// The user filter; `%u` is the escaped username.
        public var filter: String
        /// The attribute holding OpenSSH public key lines.
        public var attribute: String
        /// Only members of this group may log in.
        public var group: Group?
        /// crtauth's layout: the user's entry must be `uid=U,cn=users,<baseDN>`.
        public var requireCrtauthUserDN: Bool
        /// Seconds for connecting, binding and searching, each.
        public var timeout: Int
        /// Seconds a lookup's answer is reused (0: never).
        public var cacheTTL: UInt64

        public enum Group: Sendable, Hashable {
            /// A `posixGroup` whose `memberUid` values are usernames.
            case posixGroup(dn: String)
            /// A `groupOfNames` whose `member` values are user DNs.
            case groupOfNames(dn: String)
        }

        public init(url: String, startTLS: Bool = false, bindDN: String? = nil, bindPassword: String? = nil, baseDN: String,
                    filter: String = "(&(objectClass=posixAccount)(uid=%u))", attribute: String = "sshPublicKey", group: Group? = nil,
                    requireCrtauthUserDN: Bool = false, timeout: Int = 5, cacheTTL: UInt64 = 30) {
            self.url = url
            self.startTLS = startTLS
            self.bindDN = bindDN
            self.bindPassword = bindPassword
            self.baseDN = baseDN
            self.filter = filter
            self.attribute = attribute
            self.group = group
            self.requireCrtauthUserDN = requireCrtauthUserDN
            self.timeout = timeout
            self.cacheTTL = cacheTTL
        }

        /// crtauth's `LDAPKeyProvider` layout: users `uid=U,cn=users,<base>` (posixAccount),
        /// the optional group `cn=G,cn=groups,<base>` (posixGroup with `memberUid`).
        public static func crtauth(url: String, baseDN: String, group: String? = nil, bindDN: String? = nil, bindPassword: String? = nil) -> Configuration {
            Configuration(
                url: url, bindDN: bindDN, bindPassword: bindPassword, baseDN: baseDN,
                group: group.map { .posixGroup(dn: "cn=\(escapeDNValue($0)),cn=groups,\(baseDN)") }, requireCrtauthUserDN: true)
        }
    }

    public let configuration: Configuration
    private let clock: @Sendable () -> UInt64
    private let cache = Mutex<[String: (lookup: KeyLookup, at: UInt64)]>([:])
    static let cacheCapacity = 10_000

    public init(configuration: Configuration, clock: @escaping @Sendable () -> UInt64 = { UInt64(Date().timeIntervalSince1970) }) throws {
        guard let scheme = URL(string: configuration.url)?.scheme?.lowercased(), scheme == "ldap" || scheme == "ldaps" else {
            throw AuthCoreError(.invalidConfiguration, "an LDAP URL is ldap://HOST[:PORT] or ldaps://HOST[:PORT]")
        }
        guard configuration.filter.contains("%u") else { throw AuthCoreError(.invalidConfiguration, "the LDAP filter must contain %u") }
        if case .failure(let error) = LibLDAP.shared { throw AuthCoreError(.invalidConfiguration, error.description) }
        self.configuration = configuration
        self.clock = clock
    }

    /// Throws when the directory cannot be bound to and searched (for health checks).
    public func checkHealth() async throws {
        let configuration = self.configuration
        do {
            _ = try await NIOThreadPool.singleton.runIfActive { try LDAPConnection.lookup("\u{0}health-check", configuration) }
        } catch {
            throw AuthCoreError(.keyProvider, "the LDAP directory failed: \(error)")
        }
    }

    public func keys(for username: String) async throws -> KeyLookup {
        guard UsernameRule.isValid(username) else { return .noSuchUser }
        let now = self.clock()
        if let hit = self.cache.withLock({ $0[username] }), now < hit.at + self.configuration.cacheTTL { return hit.lookup }
        let configuration = self.configuration
        let lookup: KeyLookup
        do {
            lookup = try await NIOThreadPool.singleton.runIfActive { try LDAPConnection.lookup(username, configuration) }
        } catch let error as AuthCoreError {
            throw error
        } catch {
            throw AuthCoreError(.keyProvider, "the LDAP directory failed: \(error)")
        }
        if configuration.cacheTTL > 0 {
            self.cache.withLock { cache in
                if cache.count >= Self.cacheCapacity { cache.removeAll(keepingCapacity: true) }
                cache[username] = (lookup, now)
            }
        }
        return lookup
    }
}

/// RFC 4515 §3: `*`, `(`, `)`, `\` and NUL as `\XX` in a filter value.
public func escapeLDAPFilterValue(_ value: String) -> String {
    value.unicodeScalars.map { scalar in
        switch scalar {
        case "*": "\\2a"
        case "(": "\\28"
        case ")": "\\29"
        case "\\": "\\5c"
        case "\u{0}": "\\00"
        default: String(scalar)
        }
    }.joined()
}

/// RFC 4514 escaping of a value inside a DN (for group names of the crtauth preset).
func escapeDNValue(_ value: String) -> String {
    var out = ""
    for (index, scalar) in value.unicodeScalars.enumerated() {
        if ",+\"\\<>;=".unicodeScalars.contains(scalar) || (index == 0 && (scalar == "#" || scalar == " ")) { out += "\\" }
        out.unicodeScalars.append(scalar)
    }
    return out
}

/// One bind–search–unbind, blocking.
enum LDAPConnection {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static func lookup(_ username: String, _ configuration: LDAPKeyProvider.Configuration) throws -> KeyLookup {
        let ldap = try LibLDAP.shared.get()
        var handle: LibLDAP.Handle?
        try check(ldap.initialize(&handle, configuration.url), ldap, "connecting to \(configuration.url)")
        guard let ld = handle else { throw Failure(description: "ldap_initialize gave no handle") }
        defer { _ = ldap.unbind(ld, nil, nil) }
        var version = LibLDAP.version3
        _ = ldap.setOption(ld, LibLDAP.optionProtocolVersion, &version)
        var timeout = timeval(tv_sec: configuration.timeout, tv_usec: 0)
        _ = ldap.setOption(ld, LibLDAP.optionNetworkTimeout, &timeout)
        _ = ldap.setOption(ld, LibLDAP.optionTimeout, &timeout)
        // LDAP_OPT_OFF is a null pointer (a pointer to 0 would turn referrals on).
        _ = ldap.setOption(ld, LibLDAP.optionReferrals, nil)
        if configuration.startTLS { try check(ldap.startTLS(ld, nil, nil), ldap, "StartTLS") }
        try bind(ldap, ld, configuration)

        let filter = configuration.filter.replacingOccurrences(of: "%u", with: escapeLDAPFilterValue(username))
        let entries = try search(ldap, ld, base: configuration.baseDN, scope: LibLDAP.scopeSubtree, filter: filter, attribute: configuration.attribute, timeout: configuration.timeout)
        guard !entries.isEmpty else { return .noSuchUser }
        guard entries.count == 1, let entry = entries.first else { return .refused(reason: "more than one directory entry for the user") }
        if configuration.requireCrtauthUserDN, entry.dn.lowercased() != "uid=\(escapeDNValue(username)),cn=users,\(configuration.baseDN)".lowercased() {
            return .noSuchUser
        }
        if let group = configuration.group {
            let (dn, groupFilter) = switch group {
            case .posixGroup(let dn): (dn, "(memberUid=\(escapeLDAPFilterValue(username)))")
            case .groupOfNames(let dn): (dn, "(member=\(escapeLDAPFilterValue(entry.dn)))")
            }
            let members = try search(ldap, ld, base: dn, scope: LibLDAP.scopeBase, filter: groupFilter, attribute: "1.1", timeout: configuration.timeout, missingBaseIsEmpty: true)
            guard !members.isEmpty else { return .refused(reason: "not a member of the required group") }
        }
        let keys = entry.values.compactMap { try? AuthorizedKey(line: $0) }.map {
            UserKey(key: $0.key, isCertificateAuthority: $0.isCertificateAuthority, expiresAt: try? $0.expiryTime(), principals: $0.principals)
        }
        return keys.isEmpty ? .refused(reason: "no usable \(configuration.attribute) in the directory") : .keys(keys)
    }

    private static func bind(_ ldap: LibLDAP, _ ld: LibLDAP.Handle, _ configuration: LDAPKeyProvider.Configuration) throws {
        var password = Array((configuration.bindPassword ?? "").utf8)
        let rc = password.withUnsafeMutableBytes { bytes in
            // Simple bind: no SASL mechanism.
            LibLDAP.withBerValue(bytes) { credential in ldap.saslBind(ld, configuration.bindDN, nil, credential, nil, nil, nil) }
        }
        try check(rc, ldap, "binding as \(configuration.bindDN ?? "anonymous")")
    }

    struct Entry {
        var dn: String
        var values: [String]
    }

    private static func search(_ ldap: LibLDAP, _ ld: LibLDAP.Handle, base: String, scope: Int32, filter: String, attribute: String, timeout: Int,
                               missingBaseIsEmpty: Bool = false) throws -> [Entry] {
        var result: LibLDAP.Message?
        var limit = timeval(tv_sec: timeout, tv_usec: 0)
        let attributeCString = strdup(attribute)
        defer { free(attributeCString) }
        var attributes: [UnsafeMutablePointer<CChar>?] = [attributeCString, nil]
        let rc = ldap.search(ld, base, scope, filter, &attributes, 0, nil, nil, &limit, 2, &result)
        defer { if result != nil { _ = ldap.freeMessage(result) } }
        if rc == LibLDAP.noSuchObject && missingBaseIsEmpty { return [] }
        if rc == LibLDAP.sizeLimitExceeded { return [Entry(dn: "", values: []), Entry(dn: "", values: [])] }
        try check(rc, ldap, "searching \(base)")
        var entries: [Entry] = []
        var entry = ldap.firstEntry(ld, result)
        while let current = entry {
            var dn = ""
            if let raw = ldap.distinguishedName(ld, current) {
                dn = String(cString: raw)
                ldap.freeMemory(raw)
            }
            var values: [String] = []
            if let list = ldap.values(ld, current, attribute) {
                var index = 0
                while let value = list[index] {
                    values.append(String(decoding: LibLDAP.bytes(of: value), as: UTF8.self))
                    index += 1
                }
                ldap.freeValues(list)
            }
            entries.append(Entry(dn: dn, values: values))
            entry = ldap.nextEntry(ld, current)
        }
        return entries
    }

    private static func check(_ rc: Int32, _ ldap: LibLDAP, _ what: String) throws {
        guard rc != LibLDAP.success else { return }
        throw Failure(description: "\(what): \(ldap.describe(rc))")
    }
}

extension LDAPKeyProvider.Configuration {
    /// A store URL as `crtauth serve --store` takes it:
    /// `ldap[s]://HOST[:PORT]/BASE-DN?bind=DN&password-file=PATH&filter=…&attribute=…&group=DN&group-type=posix|names&starttls=1&preset=crtauth&group-name=G&ttl=SECONDS&timeout=SECONDS`
    /// (values percent-encoded). The bind password is read from a file, never taken from the
    /// command line.
    public init(storeURL: String) throws {
        guard let components = URLComponents(string: storeURL), let scheme = components.scheme?.lowercased(), scheme == "ldap" || scheme == "ldaps",
              let host = components.host, !host.isEmpty else {
            throw AuthCoreError(.invalidConfiguration, "an LDAP store is ldap[s]://HOST[:PORT]/BASE-DN?…")
        }
        let baseDN = String(components.percentEncodedPath.drop { $0 == "/" }).removingPercentEncoding ?? ""
        guard !baseDN.isEmpty else { throw AuthCoreError(.invalidConfiguration, "the LDAP store URL names no base DN (ldap://HOST/dc=example,dc=com)") }
        var query: [String: String] = [:]
        for item in components.queryItems ?? [] {
            let known = ["bind", "password-file", "filter", "attribute", "group", "group-type", "starttls", "preset", "group-name", "ttl", "timeout"]
            guard known.contains(item.name) else { throw AuthCoreError(.invalidConfiguration, "unknown LDAP store option \(item.name); known: \(known.joined(separator: ", "))") }
            query[item.name] = item.value ?? ""
        }
        let server = "\(scheme)://\(host)\(components.port.map { ":\($0)" } ?? "")"
        var password: String?
        if let file = query["password-file"] {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw AuthCoreError(.invalidConfiguration, "cannot read the LDAP password file \(file)")
            }
            password = text.trimmingCharacters(in: .newlines)
        }
        if query["preset"] == "crtauth" {
            self = .crtauth(url: server, baseDN: baseDN, group: query["group-name"], bindDN: query["bind"], bindPassword: password)
        } else if let preset = query["preset"] {
            throw AuthCoreError(.invalidConfiguration, "unknown LDAP preset \(preset) (crtauth is the one there is)")
        } else {
            var group: Group?
            if let dn = query["group"] {
                switch query["group-type"] ?? "posix" {
                case "posix": group = .posixGroup(dn: dn)
                case "names": group = .groupOfNames(dn: dn)
                case let other: throw AuthCoreError(.invalidConfiguration, "group-type is posix or names, not \(other)")
                }
            }
            self.init(url: server, bindDN: query["bind"], bindPassword: password, baseDN: baseDN, group: group)
            if let filter = query["filter"] { self.filter = filter }
            if let attribute = query["attribute"] { self.attribute = attribute }
        }
        self.startTLS = ["1", "true", "yes"].contains(query["starttls"] ?? "")
        if let ttl = query["ttl"] {
            guard let seconds = UInt64(ttl) else { throw AuthCoreError(.invalidConfiguration, "ttl is a number of seconds") }
            self.cacheTTL = seconds
        }
        if let timeout = query["timeout"] {
            guard let seconds = Int(timeout), seconds > 0, seconds <= 60 else { throw AuthCoreError(.invalidConfiguration, "timeout is 1 to 60 seconds") }
            self.timeout = seconds
        }
    }
}
