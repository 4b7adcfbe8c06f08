// swift-tools-version:6.1
import PackageDescription

// libFuzzer targets for every parser that reads untrusted bytes, in a package of their own so
// adopters of swift-crtauth never build them. Built and run by ../scripts/fuzz, which passes
// `-sanitize=fuzzer,address` and `-enable-testing` (the targets reach internal parsers through
// `@testable import`); a plain `swift build` here is not a fuzzer.
let package = Package(
    name: "swift-crtauth-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "swift-crtauth", path: "../"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-configuration.git", from: "1.4.0", traits: [.defaults, "YAML"]),
    ],
    targets: [
        .executableTarget(
            name: "CRTAuthFuzz",
            dependencies: [
                .product(name: "AuthCore", package: "swift-crtauth"),
                .product(name: "SSHKeys", package: "swift-crtauth"),
                .product(name: "SSHAgent", package: "swift-crtauth"),
                .product(name: "CRTAuth", package: "swift-crtauth"),
                .product(name: "CRTAuthJWT", package: "swift-crtauth"),
                .product(name: "CRTAuthSignatures", package: "swift-crtauth"),
                .product(name: "CRTAuthClient", package: "swift-crtauth"),
                .product(name: "CRTAuthLDAP", package: "swift-crtauth"),
                .product(name: "CRTAuthGatewayConfiguration", package: "swift-crtauth"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Configuration", package: "swift-configuration"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6), .enableUpcomingFeature("ExistentialAny"), .unsafeFlags(["-parse-as-library"])]
        ),
    ]
)
