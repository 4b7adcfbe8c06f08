// swift-tools-version:6.1
import PackageDescription

// Benchmarks live in their own package so adopters of swift-crtauth never resolve benchmark
// tooling. Run with ../scripts/bench (or `swift package benchmark` here).
let package = Package(
    name: "swift-crtauth-benchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "swift-crtauth", path: "../"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .target(
            name: "BenchmarkCases",
            dependencies: [
                .product(name: "SSHKeys", package: "swift-crtauth"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        .executableTarget(
            name: "CRTAuthRatio",
            dependencies: [
                "BenchmarkCases",
                .product(name: "CRTAuth", package: "swift-crtauth"),
                .product(name: "SSHKeys", package: "swift-crtauth"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        .executableTarget(
            name: "VerifyRatio",
            dependencies: ["BenchmarkCases"],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        .executableTarget(
            name: "SSHKeysBenchmarks",
            dependencies: [
                "BenchmarkCases",
                .product(name: "SSHKeys", package: "swift-crtauth"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/SSHKeysBenchmarks",
            swiftSettings: [.swiftLanguageMode(.v6)],
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
