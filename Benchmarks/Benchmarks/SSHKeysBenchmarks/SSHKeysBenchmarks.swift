import Benchmark
import BenchmarkCases
import SSHKeys


let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: [.wallClock, .throughput, .mallocCountTotal], maxDuration: .seconds(2), maxIterations: 1_000_000)
    guard let cases = try? makeCases() else { fatalError("benchmark setup failed") }  // setup of our own fixed inputs, not input parsing

    for c in cases {
        Benchmark("verify \(c.name) (ours)") { benchmark in
            for _ in benchmark.scaledIterations { blackHole(c.ours()) }
        }
        Benchmark("verify \(c.name) (raw swift-crypto)") { benchmark in
            for _ in benchmark.scaledIterations { blackHole(c.raw()) }
        }
        Benchmark("sign \(c.name)") { benchmark in
            for _ in benchmark.scaledIterations { blackHole(try c.privateKey.signature(for: message, algorithm: c.algorithm)) }
        }
    }

    let blob = cases[0].signature.wireBlob
    Benchmark("parse signature blob ssh-ed25519") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try SSHSignature(wireBlob: blob)) }
    }

    Benchmark("bcrypt_pbkdf 16 rounds, 48 bytes (aes256-ctr key+iv)", configuration: .init(metrics: [.wallClock, .throughput], maxDuration: .seconds(3), maxIterations: 50)) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try BCryptPBKDF.deriveKey(passphrase: Array("correct horse".utf8), salt: [UInt8](repeating: 7, count: 16), rounds: 16, keyLength: 48))
        }
    }

    let encrypted = (try? SSHPrivateKey(generating: .ed25519).openSSHFile(passphrase: "pw", rounds: 16)) ?? ""
    Benchmark("decrypt ed25519 openssh-key-v1, 16 rounds", configuration: .init(metrics: [.wallClock, .throughput], maxDuration: .seconds(3), maxIterations: 50)) { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try SSHPrivateKey(fileContents: encrypted, passphrase: "pw")) }
    }
}
