// swift-tools-version:6.1
import PackageDescription

// Benchmarks live in their own package so adopters of swift-crtauth never resolve benchmark
// tooling. Run with ../scripts/bench (or `swift package benchmark` here).
let package = Package(
    name: "swift-crtauth-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "swift-crtauth", path: "../"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
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
                .product(name: "AuthCore", package: "swift-crtauth"),
                "BenchmarkCases",
                .product(name: "CRTAuth", package: "swift-crtauth"),
                .product(name: "SSHKeys", package: "swift-crtauth"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        .executableTarget(
            name: "CreateTokenCount",
            dependencies: [
                .product(name: "AuthCore", package: "swift-crtauth"),
                .product(name: "CRTAuth", package: "swift-crtauth"),
                .product(name: "SSHKeys", package: "swift-crtauth"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        .executableTarget(
            name: "WhoamiServer",
            dependencies: [
                .product(name: "AuthCore", package: "swift-crtauth"),
                .product(name: "CRTAuth", package: "swift-crtauth"),
                .product(name: "CRTAuthHummingbird", package: "swift-crtauth"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        .executableTarget(
            name: "HandshakeLoad",
            dependencies: [
                .product(name: "CRTAuth", package: "swift-crtauth"),
                .product(name: "SSHKeys", package: "swift-crtauth"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        .executableTarget(
            name: "SignatureRatio",
            dependencies: [
                .product(name: "AuthCore", package: "swift-crtauth"),
                "BenchmarkCases",
                .product(name: "CRTAuth", package: "swift-crtauth"),
                .product(name: "CRTAuthJWT", package: "swift-crtauth"),
                .product(name: "CRTAuthSignatures", package: "swift-crtauth"),
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
