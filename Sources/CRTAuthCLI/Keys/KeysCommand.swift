import ArgumentParser
import AuthCore
import CRTAuth
import CRTAuthPostgres
import CRTAuthSQLite
import Logging
import Foundation
import SSHKeys

/// `crtauth keys`: enrol, list and revoke users' keys in the gateway's store.
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Manage users' SSH public keys in the key store.",
        subcommands: [Add.self, List.self, Remove.self, Import.self, JWKS.self]
    )

    struct StoreOptions: ParsableArguments {
        @Option(help: "Key store: sqlite:PATH, postgres://USER[:PASSWORD]@HOST[:PORT]/DB or dir:PATH. Default sqlite:<data-dir>/crtauth.sqlite (or CRTAUTH_STORE).")
        var store: String?
        @Option(name: .customLong("data-dir"), help: "The gateway's data directory. Default ./crtauth-data (or CRTAUTH_DATA_DIR).")
        var dataDirectory: String?

        func location() throws -> StoreLocation {
            let environment = ProcessInfo.processInfo.environment
            if let text = self.store ?? environment["CRTAUTH_STORE"].flatMap({ $0.isEmpty ? nil : $0 }) { return try StoreLocation(parsing: text) }
            return .default(dataDirectory: self.dataDirectory ?? environment["CRTAUTH_DATA_DIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "./crtauth-data")
        }

        func open() async throws -> any KeyStore {
            switch try self.location() {
            case .postgres(let url):
                var logger = Logger(label: "crtauth")
                logger.logLevel = .error
                do { return try await PostgresKeyStore.connect(url, logger: logger) } catch { throw CLIFailure(message: "\(error)") }
            case .sqlite(let path):
                let directory = (path as NSString).deletingLastPathComponent
                if !directory.isEmpty { try makeDirectory(directory) }
                do { return try SQLiteKeyStore(path: path) } catch { throw CLIFailure(message: "\(error)") }
            case .directory(let path):
                try makeDirectory(path)
                return DirectoryKeyStore(directory: path)
            case .authorizedKeys:
                throw CLIFailure(message: "authorized-keys: stores are read-only here; edit the files, or import them with 'crtauth keys import'")
            case .ldap:
                throw CLIFailure(message: "LDAP stores are read-only here: manage sshPublicKey in the directory")
            }
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add keys for a user.",
            discussion: "KEY is a .pub file, - for standard input, or a key line (\"ssh-ed25519 AAAA… comment\"). authorized_keys options (cert-authority, principals=, expiry-time=) are kept."
        )
        @Argument(help: "The username.") var user: String
        @Argument(help: "A .pub or authorized_keys file, -, or a key line.") var key: String
        @Option(help: "Comment to store instead of the key's own.") var comment: String?
        @OptionGroup var store: StoreOptions

        func run() async throws {
            try await reportingErrors {
                var entries = try parseKeyLines(try keyText(self.key), source: self.key)
                if let comment { entries = try entries.map { try AuthorizedKey(line: $0.with(comment: comment)) } }
                let added = try await self.store.open().add(entries.map { (self.user, $0) }, now: unixNow())
                for stored in added { print("added \(stored.fingerprint) (\(stored.key.type.name)\(stored.comment.isEmpty ? "" : ", \(stored.comment)")) for \(stored.username)") }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List active keys, of one user or all.")
        @Argument(help: "Only this user's keys.") var user: String?
        @Flag(help: "One JSON array.") var json = false
        @OptionGroup var store: StoreOptions

        func run() async throws {
            try await reportingErrors {
                let keys = try await self.store.open().list(username: self.user)
                if self.json {
                    let objects = keys.map { key -> [String: Any] in
                        var object: [String: Any] = ["user": key.username, "fingerprint": key.fingerprint, "type": key.key.type.name, "comment": key.comment, "key": key.key.openSSHLine()]
                        object["created"] = isoDate(key.createdAt)
                        object["last_used"] = key.lastUsedAt.map(isoDate) ?? NSNull()
                        if key.isCertificateAuthority { object["cert_authority"] = true }
                        if let principals = key.principals { object["principals"] = principals }
                        if let expiry = key.expiresAt { object["expires"] = isoDate(expiry) }
                        return object
                    }
                    print(try jsonText(objects))
                } else {
                    for key in keys {
                        let used = key.lastUsedAt.map { "last used \(isoDate($0))" } ?? "never used"
                        print("\(key.username) \(key.fingerprint) \(key.key.type.name)\(key.isCertificateAuthority ? " (cert-authority)" : "") \(key.comment.isEmpty ? "-" : key.comment) (\(used))")
                    }
                }
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a user's key (by its SHA256: fingerprint).")
        @Argument(help: "The username.") var user: String
        @Argument(help: "The key's fingerprint, as 'crtauth keys list' or 'ssh-keygen -l' shows it.") var fingerprint: String
        @OptionGroup var store: StoreOptions

        func run() async throws {
            try await reportingErrors {
                guard try await self.store.open().revoke(username: self.user, fingerprint: self.fingerprint, now: unixNow()) else {
                    throw CLIFailure(message: "\(self.user) has no active key \(self.fingerprint)")
                }
                print("removed \(self.fingerprint) for \(self.user)")
            }
        }
    }

    struct JWKS: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "jwks",
            abstract: "Trust a JWKS URL for a user's JWTs (asymmetric_jwt_auth's JWKS endpoint trust).",
            discussion: "crtauth keys jwks alice https://alice.example.com/.well-known/jwks.json — a JWT of alice's whose kid names a key of that set is accepted.\ncrtauth keys jwks alice --remove — stop trusting it.\nShow the trusted URL: crtauth keys jwks alice. SQLite stores only."
        )
        @Argument(help: "The username.") var user: String
        @Argument(help: "The http(s) URL of the JWKS document.") var url: String?
        @Flag(help: "Stop trusting the user's JWKS.") var remove = false
        @OptionGroup var store: StoreOptions

        func run() async throws {
            try await reportingErrors {
                guard let store = try await self.store.open() as? any JWKSTrustStore else { throw CLIFailure(message: "JWKS trust is kept in sqlite: and postgres:// stores only") }
                do {
                    if self.remove {
                        guard try await store.distrustJWKS(username: self.user) else { throw CLIFailure(message: "\(self.user) trusts no JWKS") }
                        print("removed the JWKS trust of \(self.user)")
                    } else if let url = self.url {
                        try await store.trustJWKS(username: self.user, url: url, now: unixNow())
                        print("\(self.user) trusts \(url)")
                    } else {
                        print(try await store.jwksURL(for: self.user) ?? "\(self.user) trusts no JWKS")
                    }
                } catch let error as CLIFailure {
                    throw error
                } catch {
                    throw CLIFailure(message: "\(error)")
                }
            }
        }
    }

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import a crtauth key directory, or authorized_keys files, in one transaction.",
            discussion: "crtauth keys import dir:/etc/crtauth/keys — every <user>_id_rsa.pub in it.\ncrtauth keys import --user alice ~alice/.ssh/authorized_keys — every key line of the files.\nAny invalid key aborts the whole import, naming the file and line."
        )
        @Argument(help: "dir:PATH, or authorized_keys files with --user.") var sources: [String]
        @Option(help: "Whose keys the authorized_keys files hold.") var user: String?
        @OptionGroup var store: StoreOptions

        func run() async throws {
            try await reportingErrors {
                var entries: [(username: String, key: AuthorizedKey)] = []
                for source in self.sources {
                    if source.hasPrefix("dir:") {
                        entries += try importDirectory(String(source.dropFirst(4)))
                    } else {
                        guard let user = self.user else { throw CLIFailure(message: "authorized_keys files need --user (or use dir:PATH for a crtauth key directory)") }
                        entries += try parseKeyLines(try readSmallFile(source), source: source).map { (user, $0) }
                    }
                }
                guard !entries.isEmpty else { throw CLIFailure(message: "nothing to import") }
                let added = try await self.store.open().add(entries, now: unixNow())
                print("imported \(added.count) key\(added.count == 1 ? "" : "s") for \(Set(added.map(\.username)).count) user(s)")
            }
        }
    }
}

func unixNow() -> UInt64 { UInt64(max(0, Date().timeIntervalSince1970)) }

func isoDate(_ seconds: UInt64) -> String {
    ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))
}

/// The text behind a KEY argument: a file, standard input, or the argument itself.
func keyText(_ argument: String) throws -> String {
    if argument == "-" || FileManager.default.fileExists(atPath: argument) { return try readSmallFile(argument) }
    if argument.contains(" ") { return argument }
    throw CLIFailure(message: "\(argument): no such file, and not a key line")
}

/// Parses authorized_keys-style lines; any invalid one is an error naming it.
func parseKeyLines(_ text: String, source: String) throws -> [AuthorizedKey] {
    var entries: [AuthorizedKey] = []
    for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
        let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
        do {
            let entry = try AuthorizedKey(line: trimmed)
            _ = try entry.expiryTime()
            entries.append(entry)
        } catch let error as SSHKeyError {
            let place = source.contains(" ") ? "the key" : "\(source) line \(number + 1)"
            throw CLIFailure(message: "\(place): \(error.message); nothing was added")
        }
    }
    guard !entries.isEmpty else { throw CLIFailure(message: "\(source.contains(" ") ? "the key line" : source) holds no key") }
    return entries
}

/// Every `<user>_id_rsa.pub` of a crtauth key directory.
func importDirectory(_ path: String) throws -> [(username: String, key: AuthorizedKey)] {
    let names: [String]
    do { names = try FileManager.default.contentsOfDirectory(atPath: path) } catch {
        throw CLIFailure(message: "cannot read the key directory \(path): \(error.localizedDescription)")
    }
    var entries: [(username: String, key: AuthorizedKey)] = []
    for name in names.sorted() where name.hasSuffix("_id_rsa.pub") {
        let user = String(name.dropLast("_id_rsa.pub".count))
        let file = path + "/" + name
        guard let first = try parseKeyLines(try readSmallFile(file), source: file).first else { continue }
        entries.append((user, first))
    }
    return entries
}

extension AuthorizedKey {
    /// This entry's line with another comment.
    func with(comment: String) -> String {
        let options = self.options.map { option in option.value.map { "\(option.name)=\"\($0.replacingOccurrences(of: "\"", with: "\\\""))\"" } ?? option.name }
        return (options.isEmpty ? "" : options.joined(separator: ",") + " ") + self.key.openSSHLine(comment: comment)
    }
}
