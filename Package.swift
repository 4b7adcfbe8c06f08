// swift-tools-version:6.1
import PackageDescription

let strictSwift6: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "swift-crtauth",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "SSHKeys", targets: ["SSHKeys"]),
        .library(name: "SSHAgent", targets: ["SSHAgent"]),
        .library(name: "CRTAuth", targets: ["CRTAuth"]),
        .executable(name: "crtauth", targets: ["CRTAuthCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
    ],
    targets: [
        .target(
            name: "SSHKeys",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            swiftSettings: strictSwift6
        ),
        .target(
            name: "SSHAgent",
            dependencies: ["SSHKeys"],
            swiftSettings: strictSwift6
        ),
        .target(
            name: "CRTAuth",
            dependencies: [
                "SSHKeys",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strictSwift6
        ),
        .executableTarget(
            name: "CRTAuthCLI",
            dependencies: [
                "SSHKeys",
                "SSHAgent",
                "CRTAuth",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSwift6
        ),
        .target(
            name: "TestSupport",
            dependencies: ["SSHKeys"],
            path: "Tests/TestSupport",
            swiftSettings: strictSwift6
        ),
        .testTarget(
            name: "SSHKeysTests",
            dependencies: ["SSHKeys", "TestSupport"],
            resources: [.copy("Vectors")],
            swiftSettings: strictSwift6
        ),
        .testTarget(
            name: "SSHAgentTests",
            dependencies: ["SSHKeys", "SSHAgent", "TestSupport"],
            swiftSettings: strictSwift6
        ),
        .testTarget(
            name: "CRTAuthTests",
            dependencies: ["CRTAuth", "SSHKeys", "SSHAgent", "TestSupport"],
            resources: [.copy("Vectors"), .copy("Peers")],
            swiftSettings: strictSwift6
        ),
        .testTarget(
            name: "CLITests",
            dependencies: ["SSHKeys", "TestSupport", "CRTAuthCLI"],
            swiftSettings: strictSwift6
        ),
    ]
)
