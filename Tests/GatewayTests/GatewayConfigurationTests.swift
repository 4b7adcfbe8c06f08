import Foundation
import TestSupport
import Testing

/// `crtauth serve`'s settings, read as an operator gives them: flags, `CRTAUTH_*` variables and
/// a JSON or YAML file, checked through `--print-config` (which starts nothing).
@Suite("crtauth serve settings: every one by flag, variable, JSON and YAML file; precedence; errors")
struct GatewayConfigurationTests {
    /// A valid value for a setting: as given (one string, or a list), as printed, and the other
    /// settings it needs (given as flags).
    struct Sample {
        let value: [String]
        let printed: String
        var companions: [String] = []
        var isList = false
    }

    /// One sample per setting. A setting `--print-config` shows that is missing here fails the test.
    static func samples(_ dir: TemporaryDirectory) throws -> [String: Sample] {
        let ca = try TestCertificateAuthority(dir)
        let pair = try ca.issue("server")
        let key = try sshKeygen(dir, name: "published", type: "ed25519")
        let password = try dir.write("pgpassword", "s3cret\n")
        return [
            "listen": Sample(value: ["127.0.0.1:18123"], printed: #""127.0.0.1:18123""#),
            "server-name": Sample(value: ["api.example.com"], printed: #""api.example.com""#),
            "admin-listen": Sample(value: ["127.0.0.1:19090"], printed: #""127.0.0.1:19090""#),
            "tls.cert": Sample(value: [pair.certificate], printed: "\"\(pair.certificate)\"", companions: ["--tls-key", pair.key]),
            "tls.key": Sample(value: [pair.key], printed: "\"\(pair.key)\"", companions: ["--tls-cert", pair.certificate]),
            "data-dir": Sample(value: [dir.file("elsewhere")], printed: "\"\(dir.file("elsewhere"))\""),
            "secret-file": Sample(value: [dir.file("secret")], printed: "\"\(dir.file("secret"))\""),
            "store": Sample(value: ["dir:\(dir.path)"], printed: "\"dir:\(dir.path)\""),
            "password-file": Sample(value: [password], printed: "\"\(password)\"", companions: ["--store", "postgres://crtauth@127.0.0.1/crtauth"]),
            "upstream": Sample(value: ["http://127.0.0.1:9"], printed: #""http://127.0.0.1:9""#),
            "upstream-ca": Sample(value: [ca.certificate], printed: "\"\(ca.certificate)\"", companions: ["--upstream", "https://127.0.0.1:9"]),
            "token-format": Sample(value: ["v0"], printed: #""v0""#),
            "token-lifetime": Sample(value: ["30"], printed: "30"),
            "schemes": Sample(value: ["chap", "jwt"], printed: #"["chap", "jwt"]"#, isList: true),
            "jwks-key": Sample(value: [key + ".pub"], printed: "[\"\(key).pub\"]", isList: true),
            "external-scheme": Sample(value: ["https"], printed: #""https""#),
            "public-path": Sample(value: ["/health", "/static/"], printed: #"["/health", "/static/"]"#, isList: true),
            "upstream-timeout": Sample(value: ["5"], printed: "5"),
            "trusted-proxy": Sample(value: ["10.0.0.0/8", "::1"], printed: #"["10.0.0.0/8", "::1"]"#, isList: true),
            "header-timeout": Sample(value: ["3"], printed: "3"),
            "idle-timeout": Sample(value: ["30"], printed: "30"),
            "max-connections": Sample(value: ["100"], printed: "100"),
            "max-body": Sample(value: ["1048576"], printed: "1048576"),
            "log-level": Sample(value: ["debug"], printed: #""debug""#),
            "log-format": Sample(value: ["json"], printed: #""json""#),
            "access-log": Sample(value: [dir.file("access.log")], printed: "\"\(dir.file("access.log"))\""),
        ]
    }

    /// Runs `crtauth serve --print-config` with the data directory in `dir`.
    static func printConfig(_ dir: TemporaryDirectory, _ arguments: [String] = [], environment: [String: String] = [:]) throws -> ProcessResult {
        // The test's own environment must not leak settings in.
        var environment = environment
        for name in ProcessInfo.processInfo.environment.keys where name.hasPrefix("CRTAUTH_") && environment[name] == nil { environment[name] = "" }
        return try runProcess(try crtauthExecutable(), ["serve", "--print-config"] + arguments, environment: environment)
    }

    /// The printed line of `name` (nested names as `section:` then an indented line).
    static func line(_ name: String, in output: String) -> String? {
        let lines = output.split(separator: "\n").map(String.init)
        let parts = name.split(separator: ".").map(String.init)
        if parts.count == 1 { return lines.first { $0.hasPrefix(name + ": ") || $0 == "# \(name): not set" } }
        guard let section = lines.firstIndex(of: parts[0] + ":") else { return lines.first { $0 == "# \(name): not set" } }
        return lines[(section + 1)...].prefix { $0.hasPrefix("  ") }.first { $0.hasPrefix("  \(parts[1]): ") }
    }

    /// Every setting's name, from what `--print-config` shows.
    static func names(in output: String) -> [String] {
        var names: [String] = [], section: String?
        for line in output.split(separator: "\n").map(String.init) {
            if line.hasPrefix("# "), line.hasSuffix(": not set") {
                names.append(String(line.dropFirst(2).dropLast(": not set".count)))
            } else if line.hasSuffix(":"), !line.hasPrefix(" ") {
                section = String(line.dropLast())
            } else if let colon = line.firstIndex(of: ":"), !line.hasPrefix("#") {
                let name = line[..<colon].trimmingCharacters(in: .whitespaces)
                names.append(line.hasPrefix("  ") ? "\(section ?? "").\(name)" : name)
            }
        }
        return names
    }

    /// A JSON or YAML file holding `settings` (nested by their dots).
    static func file(_ dir: TemporaryDirectory, _ name: String, _ settings: [(String, Sample)]) throws -> String {
        func literal(_ sample: Sample) -> String {
            let quoted = sample.value.map { "\"\($0)\"" }
            return sample.isList ? "[" + quoted.joined(separator: ", ") + "]" : (Int(sample.value[0]) != nil ? sample.value[0] : quoted[0])
        }
        var nested: [String: [(String, String)]] = [:], top: [(String, String)] = []
        for (key, sample) in settings {
            let parts = key.split(separator: ".").map(String.init)
            if parts.count == 2 { nested[parts[0], default: []].append((parts[1], literal(sample))) } else { top.append((key, literal(sample))) }
        }
        if name.hasSuffix(".json") {
            var members = top.map { "\"\($0.0)\": \($0.1)" }
            for (section, entries) in nested { members.append("\"\(section)\": {" + entries.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}") }
            return try dir.write(name, "{" + members.joined(separator: ",\n") + "}\n")
        }
        var lines = top.map { "\($0.0): \($0.1)" }
        for (section, entries) in nested { lines.append("\(section):"); lines += entries.map { "  \($0.0): \($0.1)" } }
        return try dir.write(name, lines.joined(separator: "\n") + "\n")
    }

    @Test("every setting shown by --print-config is accepted as a flag, a CRTAUTH_* variable, a JSON key and a YAML key")
    func everySettingThreeWays() throws {
        let dir = try TemporaryDirectory()
        let samples = try Self.samples(dir)
        let defaults = try Self.printConfig(dir)
        #expect(defaults.status == 0, "\(defaults.stderr)")
        let names = Self.names(in: defaults.stdout)
        #expect(names.count >= 26 && Set(names) == Set(samples.keys), "\(names)")
        for name in names {
            guard let sample = samples[name] else { continue }
            let flag = "--" + name.replacingOccurrences(of: ".", with: "-")
            let variable = "CRTAUTH_" + name.uppercased().replacingOccurrences(of: ".", with: "_").replacingOccurrences(of: "-", with: "_")
            let flagArguments = name == "schemes" ? [flag, sample.value.joined(separator: ",")] : sample.value.flatMap { [flag, $0] }
            var ways: [(String, ProcessResult)] = [
                ("flag \(flag)", try Self.printConfig(dir, flagArguments + sample.companions)),
                (variable, try Self.printConfig(dir, sample.companions, environment: [variable: sample.value.joined(separator: ",")])),
            ]
            for format in ["json", "yaml"] {
                let file = try Self.file(dir, "settings-\(name).\(format)", [(name, sample)])
                ways.append(("\(name) in \(file)", try Self.printConfig(dir, ["--config", file] + sample.companions)))
            }
            for (source, result) in ways {
                #expect(result.status == 0, "\(name) by \(source): \(result.stderr)")
                let line = Self.line(name, in: result.stdout)
                #expect(line?.contains(": \(sample.printed)  # \(source)") == true, "\(name) by \(source): \(line ?? result.stdout)")
            }
        }
    }

    @Test("a flag wins over a variable, a variable over the file, the file over the default; CRTAUTH_CONFIG names the file")
    func precedence() throws {
        let dir = try TemporaryDirectory()
        let file = try dir.write("serve.yaml", "listen: 127.0.0.1:1001\nserver-name: from-file\ntoken-lifetime: 40\n")
        let result = try Self.printConfig(dir, ["--config", file, "--listen", "127.0.0.1:1003"], environment: ["CRTAUTH_LISTEN": "127.0.0.1:1002", "CRTAUTH_SERVER_NAME": "from-variable"])
        #expect(Self.line("listen", in: result.stdout) == #"listen: "127.0.0.1:1003"  # flag --listen"#)
        #expect(Self.line("server-name", in: result.stdout) == #"server-name: "from-variable"  # CRTAUTH_SERVER_NAME"#)
        #expect(Self.line("token-lifetime", in: result.stdout) == "token-lifetime: 40  # token-lifetime in \(file)")
        #expect(Self.line("token-format", in: result.stdout) == #"token-format: "v1"  # default"#)
        let named = try Self.printConfig(dir, environment: ["CRTAUTH_CONFIG": file])
        #expect(Self.line("server-name", in: named.stdout) == "server-name: \"from-file\"  # server-name in \(file)")
    }

    @Test("--print-config's output is a configuration file that gives the same settings")
    func printedFileRoundTrips() throws {
        let dir = try TemporaryDirectory()
        let samples = try Self.samples(dir)
        let chosen = ["listen", "server-name", "tls.cert", "tls.key", "token-lifetime", "schemes", "public-path", "upstream-ca"]
        let upstream = Sample(value: ["https://127.0.0.1:9"], printed: "")
        let file = try Self.file(dir, "all.json", chosen.map { ($0, samples[$0]!) } + [("upstream", upstream)])
        let first = try Self.printConfig(dir, ["--config", file])
        #expect(first.status == 0, "\(first.stderr)")
        let printed = try dir.write("printed.yaml", first.stdout)
        let second = try Self.printConfig(dir, ["--config", printed])
        #expect(second.status == 0, "\(second.stderr)")
        let values = { (output: String) in output.split(separator: "\n").dropFirst().map { $0.components(separatedBy: "  # ")[0] } }
        #expect(values(first.stdout) == values(second.stdout))
    }

    @Test("errors name the setting and where it came from: unknown keys, wrong types, secrets as values, bad files")
    func errors() throws {
        let dir = try TemporaryDirectory()
        func failure(_ arguments: [String], environment: [String: String] = [:]) throws -> String {
            let result = try Self.printConfig(dir, arguments, environment: environment)
            #expect(result.status != 0, "\(arguments) was accepted: \(result.stdout)")
            #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
            return result.stderr
        }
        let typo = try dir.write("typo.json", #"{"listn": "127.0.0.1:1"}"#)
        #expect(try failure(["--config", typo]).contains("unknown setting 'listn' in \(typo)"))
        let dashed = try dir.write("dashed.yaml", "tls-cert: /x\n")
        #expect(try failure(["--config", dashed]).contains("did you mean 'tls.cert'?"))
        let nestedTypo = try dir.write("nested.yaml", "tls:\n  certificate: /x\n")
        #expect(try failure(["--config", nestedTypo]).contains("unknown setting 'tls.certificate'"))
        let wrongType = try dir.write("type.json", #"{"token-lifetime": "soon"}"#)
        #expect(try failure(["--config", wrongType]).contains("token-lifetime in \(wrongType) must be a whole number"))
        #expect(try failure([], environment: ["CRTAUTH_TOKEN_LIFETIME": "soon"]).contains("CRTAUTH_TOKEN_LIFETIME must be a whole number"))
        let list = try dir.write("list.yaml", "schemes: chap\n")
        #expect(try failure(["--config", list]).contains("schemes in \(list) must be a list"))
        let password = try dir.write("password.yaml", "store: postgres://crtauth:hunter2@127.0.0.1/crtauth\n")
        let secretError = try failure(["--config", password])
        #expect(secretError.contains("password-file") && !secretError.contains("hunter2"))
        #expect(try failure(["--config", dir.file("missing.yaml")]).contains("cannot read the configuration file"))
        let toml = try dir.write("serve.toml", "listen = 1\n")
        #expect(try failure(["--config", toml]).contains("must end in .json, .yaml or .yml"))
        let broken = try dir.write("broken.json", "{\"listen\": ")
        #expect(try failure(["--config", broken]).contains("is not valid JSON"))
        // Found by the gateway-config fuzz target: Yams trapped on a key that is not a scalar…
        let complexKey = try dir.write("complex.yaml", "listen: 127.0.0.1:1\n? [tls, cert]\n: a.pem\n")
        #expect(try failure(["--config", complexKey]).contains("has a key that is not a name"))
        // And on a whole number in base 60 past Int.max (swift-configuration reads numbers through Yams).
        let sexagesimal = try dir.write("sexagesimal.yaml", "max-body: 9220368547757203685:7\n")
        #expect(try failure(["--config", sexagesimal]).contains("max-body in \(sexagesimal) must be a whole number"))
        let deep = try dir.write("deep.yaml", "tls: " + String(repeating: "[", count: 40) + String(repeating: "]", count: 40) + "\n")
        #expect(try failure(["--config", deep]).contains("nests deeper than 16 levels"))
        let empty = try dir.write("empty.yaml", "")
        #expect(try failure(["--config", empty]).contains("must hold a mapping of settings"))
        // Read no further than the limit: a huge file (or a device) is refused, not loaded.
        let huge = dir.file("huge.yaml")
        #expect(FileManager.default.createFile(atPath: huge, contents: nil) && truncate(huge, 64 << 20) == 0)
        #expect(try failure(["--config", huge]).contains("is larger than 1 MiB"))
        #expect(try failure(["--tls-cert", "/x"]).contains("--tls-cert needs --tls-key"))
        #expect(try failure(["--public-path", "/static/../admin"]).contains("--public-path takes an absolute path"))
        // A password given by flag is redacted in what is printed.
        let redacted = try Self.printConfig(dir, ["--store", "postgres://crtauth:hunter2@127.0.0.1/crtauth"])
        #expect(redacted.status == 0 && !redacted.stdout.contains("hunter2") && redacted.stdout.contains("crtauth:***@"))
    }
}
