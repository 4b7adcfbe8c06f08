import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Where a key file's passphrase comes from, decided as ssh(1) decides it: the `SSH_ASKPASS`
/// program when there is no terminal and a display (`DISPLAY` or `WAYLAND_DISPLAY`), or when
/// `SSH_ASKPASS_REQUIRE` is `force` (always) or `prefer` (with a display); `never` turns it off.
/// Otherwise the terminal, with echo off; without a terminal, `CRTAUTH_PASSPHRASE`.
enum PassphraseSource: Equatable {
    case askpass(program: String)
    case terminal
    case environment
    case none

    static func choose(environment: [String: String], hasTerminal: Bool) -> PassphraseSource {
        if let program = environment["SSH_ASKPASS"], !program.isEmpty {
            let hasDisplay = !(environment["DISPLAY"] ?? "").isEmpty || !(environment["WAYLAND_DISPLAY"] ?? "").isEmpty
            var allowed = hasDisplay
            var wanted = !hasTerminal
            switch environment["SSH_ASKPASS_REQUIRE"]?.lowercased() {
            case "force": (allowed, wanted) = (true, true)
            case "prefer": wanted = allowed
            case "never": allowed = false
            default: break
            }
            if allowed && wanted { return .askpass(program: program) }
        }
        if hasTerminal { return .terminal }
        return environment["CRTAUTH_PASSPHRASE"] != nil ? .environment : .none
    }
}

/// Reads a key file's passphrase from the source ``PassphraseSource`` chooses.
func readPassphrase(prompt: String) throws -> String {
    let environment = ProcessInfo.processInfo.environment
    let tty = open("/dev/tty", O_RDWR | O_CLOEXEC)
    defer { if tty >= 0 { close(tty) } }
    switch PassphraseSource.choose(environment: environment, hasTerminal: tty >= 0) {
    case .askpass(let program): return try askpass(program, prompt: prompt)
    case .terminal: return readFromTerminal(tty, prompt: prompt)
    case .environment: return environment["CRTAUTH_PASSPHRASE"] ?? ""
    case .none:
        throw CLIFailure(message: "the key is encrypted and there is no terminal to ask for its passphrase; set CRTAUTH_PASSPHRASE or SSH_ASKPASS, or load the key into ssh-agent")
    }
}

/// Longest passphrase read from a terminal or an askpass program.
private let maximumPassphraseLength = 4096

/// Runs the askpass program with the prompt as its one argument, as ssh does; its standard
/// output, less the line end, is the passphrase. A non-zero exit is a cancelled prompt.
private func askpass(_ program: String, prompt: String) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: program)
    process.arguments = [prompt]
    let output = Pipe()
    process.standardOutput = output
    do {
        try process.run()
    } catch {
        throw CLIFailure(message: "cannot run the SSH_ASKPASS program \(program): \(error.localizedDescription)")
    }
    let data = output.fileHandleForReading.readData(ofLength: maximumPassphraseLength + 2)
    try? output.fileHandleForReading.close()
    process.waitUntilExit()
    guard process.terminationReason == .exit, process.terminationStatus == 0 else {
        throw CLIFailure(message: "the SSH_ASKPASS program \(program) gave no passphrase (exit \(process.terminationStatus))")
    }
    var bytes = Array(data.prefix(maximumPassphraseLength + 1))
    if bytes.last == UInt8(ascii: "\n") { bytes.removeLast() }
    if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
    guard bytes.count <= maximumPassphraseLength else { throw CLIFailure(message: "the SSH_ASKPASS program printed more than \(maximumPassphraseLength) bytes") }
    return String(decoding: bytes, as: UTF8.self)
}

/// Asks on the terminal with echo off.
private func readFromTerminal(_ tty: Int32, prompt: String) -> String {
    _ = prompt.withCString { write(tty, $0, strlen($0)) }
    var saved = termios()
    let haveTermios = tcgetattr(tty, &saved) == 0
    if haveTermios {
        var quiet = saved
        quiet.c_lflag &= ~tcflag_t(ECHO)
        tcsetattr(tty, TCSAFLUSH, &quiet)
    }
    defer {
        if haveTermios { tcsetattr(tty, TCSAFLUSH, &saved) }
        _ = write(tty, "\n", 1)
    }
    var bytes: [UInt8] = []
    var byte: UInt8 = 0
    while read(tty, &byte, 1) == 1, byte != UInt8(ascii: "\n"), bytes.count < maximumPassphraseLength {
        bytes.append(byte)
    }
    if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
    return String(decoding: bytes, as: UTF8.self)
}
