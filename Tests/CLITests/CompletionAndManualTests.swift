import Foundation
import TestSupport
import Testing

/// What a shell user gets besides the commands: completions and the manual page.
@Suite("crtauth completions and manual page")
struct CompletionAndManualTests {
    /// Completes `line` in a real bash with the script `crtauth --generate-completion-script bash` prints.
    static func complete(_ line: String, script: String) throws -> [String] {
        let driver = """
            source "$1"
            COMP_LINE="$2"; COMP_POINT=${#COMP_LINE}
            read -ra COMP_WORDS <<< "$COMP_LINE"
            [[ "$COMP_LINE" == *" " ]] && COMP_WORDS+=("")
            COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
            COMPREPLY=()
            function=$(complete -p crtauth | sed -n 's/.* -F \\([^ ]*\\) .*/\\1/p')
            "$function" crtauth "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
            printf '%s\\n' "${COMPREPLY[@]}"
            """
        let executable = try crtauthExecutable()
        let directory = URL(fileURLWithPath: executable).deletingLastPathComponent().path
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        return try mustRun("bash", ["-c", driver, "bash", script, line], environment: ["PATH": directory + ":" + path])
            .split(separator: "\n").map(String.init)
    }

    @Test("bash completes subcommands from the generated script; zsh and fish scripts are generated")
    func completions() throws {
        let dir = try TemporaryDirectory()
        let bash = try dir.write("crtauth.bash", try mustRun(try crtauthExecutable(), ["--generate-completion-script", "bash"]))
        #expect(try Self.complete("crtauth cu", script: bash) == ["curl"])
        let keys = try Self.complete("crtauth keys ", script: bash)
        #expect(Set(["add", "list", "remove", "import", "jwks"]).isSubset(of: Set(keys)), "\(keys)")
        #expect(try Self.complete("crtauth lo", script: bash).sorted() == ["login", "logout"])
        for shell in ["zsh", "fish"] {
            let script = try mustRun(try crtauthExecutable(), ["--generate-completion-script", shell])
            #expect(script.contains("curl") && script.contains("logout"), "\(shell)")
        }
    }

    @Test("the manual page generated from the command definitions renders without a warning")
    func manualPage() throws {
        let executable = try crtauthExecutable()
        let generator = URL(fileURLWithPath: executable).deletingLastPathComponent().appendingPathComponent("generate-manual").path
        guard FileManager.default.isExecutableFile(atPath: generator) else {
            throw ProcessError(message: "\(generator) is missing: ./scripts/test builds it (swift build --product generate-manual)")
        }
        let dir = try TemporaryDirectory()
        try mustRun(generator, [executable, "--output-directory", dir.path])
        let page = try dir.read("crtauth.1")
        for command in ["serve", "curl", "status", "logout", "keys"] { #expect(page.contains(command)) }
        let rendered = try runProcess("man", ["--warnings", "-l", dir.file("crtauth.1")], environment: ["MANWIDTH": "80", "MAN_KEEP_FORMATTING": "0"])
        #expect(rendered.status == 0 && rendered.stderr.isEmpty, "\(rendered.stderr)")
        #expect(rendered.stdout.contains("crtauth"))
    }
}
