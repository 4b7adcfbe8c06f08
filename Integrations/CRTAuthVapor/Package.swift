// swift-tools-version:6.1
import PackageDescription

// The Vapor integration lives in its own package so that users of the core or of Hummingbird
// never resolve Vapor; it depends on the root package by path. Its folder is not named Vapor:
// a root package takes its identity from its folder, and "vapor" is Vapor's own.
let strictSwift6: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "swift-crtauth-vapor",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "CRTAuthVapor", targets: ["CRTAuthVapor"]),
        .executable(name: "crtauth-vapor-example", targets: ["CRTAuthVaporExample"]),
    ],
    dependencies: [
        .package(name: "swift-crtauth", path: "../.."),
        .package(url: "https://github.com/vapor/vapor.git", from: "4.122.3"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
    ],
    targets: [
        .target(
            name: "CRTAuthVapor",
            dependencies: [
                .product(name: "AuthCore", package: "swift-crtauth"),
                .product(name: "CRTAuth", package: "swift-crtauth"),
                .product(name: "Vapor", package: "vapor"),
            ],
            swiftSettings: strictSwift6
        ),
        .executableTarget(
            name: "CRTAuthVaporExample",
            dependencies: [
                "CRTAuthVapor",
                .product(name: "AuthCore", package: "swift-crtauth"),
                .product(name: "CRTAuth", package: "swift-crtauth"),
                .product(name: "CRTAuthJWT", package: "swift-crtauth"),
                .product(name: "CRTAuthSignatures", package: "swift-crtauth"),
                .product(name: "SSHKeys", package: "swift-crtauth"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Vapor", package: "vapor"),
            ],
            swiftSettings: strictSwift6
        ),
        .testTarget(
            name: "CRTAuthVaporTests",
            dependencies: [
                .product(name: "SSHKeys", package: "swift-crtauth"),
            ],
            swiftSettings: strictSwift6
        ),
    ]
)
