import AuthCore
import CRTAuth
import CRTAuthLDAP
import CRTAuthPostgres
import CRTAuthSQLite
import Foundation
import Logging

/// Where users' keys live, as `--store` names it.
enum StoreLocation: Equatable, CustomStringConvertible {
    /// `sqlite:PATH`: the embedded store (the default, `<data-dir>/crtauth.sqlite`).
    case sqlite(String)
    /// `dir:PATH`: crtauth's `<dir>/<user>_id_rsa.pub` layout.
    case directory(String)
    /// `authorized-keys:PATTERN`: sshd's `AuthorizedKeysFile` (`%u`, `%h`); read-only.
    case authorizedKeys(String)
    /// `postgres://USER[:PASSWORD]@HOST[:PORT]/DB`: shared by several gateways.
    case postgres(String)
    /// `ldap[s]://HOST[:PORT]/BASE-DN?…`: a directory's `sshPublicKey` values; read-only.
    case ldap(String)

    init(parsing text: String) throws {
        let (scheme, rest) = text.firstIndex(of: ":").map { (String(text[..<$0]), String(text[text.index(after: $0)...])) } ?? ("", text)
        guard !rest.isEmpty else { throw CLIFailure(message: Self.usage(text)) }
        switch scheme {
        case "postgres", "postgresql": self = .postgres(text)
        case "ldap", "ldaps": self = .ldap(text)
        case "sqlite": self = .sqlite(rest)
        case "dir": self = .directory(rest)
        case "authorized-keys": self = .authorizedKeys(rest)
        default: throw CLIFailure(message: Self.usage(text))
        }
    }

    private static func usage(_ text: String) -> String {
        "unsupported store '\(text)': use sqlite:PATH, postgres://USER@HOST/DB, ldap://HOST/BASE-DN, dir:PATH or authorized-keys:PATTERN"
    }

    static func `default`(dataDirectory: String) -> StoreLocation { .sqlite(dataDirectory + "/crtauth.sqlite") }

    var description: String {
        switch self {
        case .sqlite(let path): "sqlite:\(path)"
        case .directory(let path): "dir:\(path)"
        case .authorizedKeys(let pattern): "authorized-keys:\(pattern)"
        case .postgres(let url): PostgresKeyStore.redacted(url)
        case .ldap(let url): url
        }
    }

    /// The provider a server reads keys from; `passwordFile` holds the PostgreSQL store's password.
    func makeProvider(logger: Logger, passwordFile: String? = nil) async throws -> any KeyProvider {
        switch self {
        case .postgres(let url):
            let password = try passwordFile.map { path in
                guard let line = try readSmallFile(path).split(whereSeparator: \.isNewline).first, !line.isEmpty else {
                    throw CLIFailure(message: "the password file \(path) is empty")
                }
                return String(line)
            }
            do { return try await PostgresKeyStore.connect(url, password: password, logger: logger) } catch { throw CLIFailure(message: "\(error)") }
        case .ldap(let url):
            do { return try LDAPKeyProvider(configuration: try .init(storeURL: url)) } catch { throw CLIFailure(message: "\(error)") }
        case .sqlite(let path):
            do { return try SQLiteKeyStore(path: path) } catch { throw CLIFailure(message: "\(error)") }
        case .directory(let path):
            guard isDirectory(path) else { throw CLIFailure(message: "the key directory \(path) does not exist") }
            return DirectoryKeyStore(directory: path)
        case .authorizedKeys(let pattern):
            return AuthorizedKeysFileProvider(pattern: pattern)
        }
    }
}

func isDirectory(_ path: String) -> Bool {
    var isDirectory: ObjCBool = false
    return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
}

/// Creates `path` (mode 0700) and its parents when missing.
func makeDirectory(_ path: String) throws {
    guard !isDirectory(path) else { return }
    do {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    } catch {
        throw CLIFailure(message: "cannot create the directory \(path): \(error.localizedDescription)")
    }
}
