import Foundation

/// One fuzz target: a parser fed the fuzzer's bytes, and what must hold of what it returns.
struct FuzzTarget: Sendable {
    let name: String
    let run: @Sendable ([UInt8]) -> Void
}

/// Every target, by name. `CRTAUTH_FUZZ_TARGET` picks the one this process runs (one binary
/// for all: one build, one link).
let allTargets: [FuzzTarget] = sshKeyTargets + agentTargets + crtauthTargets + jwtTargets + signatureTargets + clientTargets + configTargets

/// Stops the run with a message when a property that must hold does not: libFuzzer records
/// the input as a crash.
func require(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() {
        FileHandle.standardError.write(Data("property failed: \(message())\n".utf8))
        abort()
    }
}

/// The fuzzer's bytes as text (most formats here are text; invalid UTF-8 is repaired, as a
/// server's `String(decoding:)` repairs it).
func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

/// Runs `body` to completion and waits for it. Started as an immediate task, it runs on this
/// thread until it first suspends — with stores in memory the verifiers never do, so no thread
/// is woken per input (a task on the global executor cost ~10 ms here).
func runBlocking(_ body: @escaping @Sendable () async -> Void) {
    let done = DispatchSemaphore(value: 0)
    Task.immediate {
        await body()
        done.signal()
    }
    done.wait()
}

nonisolated(unsafe) private var selected: FuzzTarget?

@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>) -> CInt {
    let name = getenv("CRTAUTH_FUZZ_TARGET").map { String(cString: $0) } ?? ""
    if name == "list" {
        print(allTargets.map(\.name).joined(separator: "\n"))
        exit(0)
    }
    if name == "seeds", let directory = getenv("CRTAUTH_FUZZ_SEEDS").map({ String(cString: $0) }) {
        nonisolated(unsafe) var failure: (any Error)?
        runBlocking {
            do { try await writeSeeds(to: directory) } catch { failure = error }
        }
        if let failure {
            FileHandle.standardError.write(Data("seeds: \(failure)\n".utf8))
            exit(1)
        }
        exit(0)
    }
    guard let target = allTargets.first(where: { $0.name == name }) else {
        FileHandle.standardError.write(Data("set CRTAUTH_FUZZ_TARGET to one of: \(allTargets.map(\.name).joined(separator: " "))\n".utf8))
        exit(2)
    }
    // Made now, not in the first input: libFuzzer counts what an input allocates and keeps.
    _ = (FuzzKeys.users, FuzzServer.server)
    selected = target
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    selected?.run(bytes)
    return 0
}

@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ test: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

/// The process's entry: SwiftPM names an executable target's `main` `<module>_main` and links
/// `main` to it, which would hide libFuzzer's own `main`; this one hands over to libFuzzer.
@_cdecl("CRTAuthFuzz_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var arguments = argv
    return runFuzzerDriver(&count, &arguments) { data, size in testOneInput(data, size) }
}
