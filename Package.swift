// swift-tools-version:6.1
import PackageDescription

let strictSwift6: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "swift-crtauth",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "SSHKeys", targets: ["SSHKeys"]),
        .library(name: "AuthCore", targets: ["AuthCore"]),
        .library(name: "SSHAgent", targets: ["SSHAgent"]),
        .library(name: "CRTAuth", targets: ["CRTAuth"]),
        .library(name: "CRTAuthHummingbird", targets: ["CRTAuthHummingbird"]),
        .library(name: "CRTAuthSQLite", targets: ["CRTAuthSQLite"]),
        .library(name: "CRTAuthClient", targets: ["CRTAuthClient"]),
        .library(name: "CRTAuthSignatures", targets: ["CRTAuthSignatures"]),
        .library(name: "CRTAuthJWT", targets: ["CRTAuthJWT"]),
        .library(name: "CRTAuthPostgres", targets: ["CRTAuthPostgres"]),
        .library(name: "CRTAuthLDAP", targets: ["CRTAuthLDAP"]),
        .library(name: "CRTAuthGatewayConfiguration", targets: ["CRTAuthGatewayConfiguration"]),
        .executable(name: "crtauth", targets: ["CRTAuthCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-http-structured-headers.git", from: "1.7.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-configuration.git", from: "1.4.0", traits: [.defaults, "YAML"]),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-system.git", from: "1.8.1"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-nio-http2.git", from: "1.46.0"),
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
            name: "AuthCore",
            dependencies: ["SSHKeys"],
            swiftSettings: strictSwift6
        ),
        .target(
            name: "CRTAuth",
            dependencies: [
                "AuthCore",
                "SSHKeys",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strictSwift6
        ),
        .target(
            name: "CRTAuthHummingbird",
            dependencies: [
                "AuthCore",
                "CRTAuth",
                "CRTAuthJWT",
                "CRTAuthSignatures",
                "SSHKeys",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdAuth", package: "hummingbird-auth"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strictSwift6
        ),
        .target(
            name: "CRTAuthLDAP",
            dependencies: [
                "AuthCore",
                "SSHKeys",
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: strictSwift6
        ),
        .target(
            name: "CRTAuthPostgres",
            dependencies: [
                "AuthCore",
                "SSHKeys",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strictSwift6
        ),
        .target(
            name: "CRTAuthJWT",
            dependencies: [
                "AuthCore",
                "SSHKeys",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strictSwift6
        ),
        .target(
            name: "CRTAuthSignatures",
            dependencies: [
                "AuthCore",
                "SSHKeys",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "RawStructuredFieldValues", package: "swift-http-structured-headers"),
            ],
            swiftSettings: strictSwift6
        ),
        .target(
            name: "CRTAuthClient",
            dependencies: [
                "AuthCore",
                "CRTAuth",
                "CRTAuthJWT",
                "CRTAuthSignatures",
                "SSHKeys",
                "SSHAgent",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strictSwift6
        ),
        .target(
            name: "CRTAuthSQLite",
            dependencies: [
                "AuthCore",
                "SSHKeys",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ],
            swiftSettings: strictSwift6
        ),
        // The settings of `crtauth serve` as given (flags, variables, the file): a library of its
        // own so that the fuzz package can feed the configuration file reader.
        .target(
            name: "CRTAuthGatewayConfiguration",
            dependencies: [
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: strictSwift6
        ),
        .executableTarget(
            name: "CRTAuthCLI",
            dependencies: [
                "AuthCore",
                "SSHKeys",
                "SSHAgent",
                "CRTAuth",
                "CRTAuthHummingbird",
                "CRTAuthSQLite",
                "CRTAuthClient",
                "CRTAuthJWT",
                "CRTAuthLDAP",
                "CRTAuthPostgres",
                "CRTAuthGatewayConfiguration",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdHTTP2", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSwift6
        ),
        // The soak and fault run of ./scripts/soak (issue #18): a test tool that drives a real
        // `crtauth serve`, nginx and PostgreSQL; not a product.
        .executableTarget(
            name: "CRTAuthSoak",
            dependencies: [
                "AuthCore", "CRTAuth", "CRTAuthJWT", "CRTAuthSignatures", "SSHKeys", "TestSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Tests/Soak",
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
            dependencies: ["AuthCore", "CRTAuth", "SSHKeys", "SSHAgent", "TestSupport", .product(name: "Crypto", package: "swift-crypto")],
            resources: [.copy("Vectors"), .copy("Peers")],
            swiftSettings: strictSwift6
        ),
        .testTarget(
            name: "CRTAuthHummingbirdTests",
            dependencies: [
                "AuthCore",
                "CRTAuth", "CRTAuthHummingbird", "CRTAuthJWT", "CRTAuthSignatures", "SSHKeys", "TestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            swiftSettings: strictSwift6
        ),
        .testTarget(
            name: "CRTAuthClientTests",
            dependencies: [
                "AuthCore",
                "CRTAuth", "CRTAuthClient", "CRTAuthHummingbird", "SSHKeys", "TestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strictSwift6
        ),
        .testTarget(
            name: "CRTAuthSignaturesTests",
            dependencies: ["AuthCore", "CRTAuth", "CRTAuthSignatures", "SSHKeys", "TestSupport", .product(name: "Crypto", package: "swift-crypto"), .product(name: "RawStructuredFieldValues", package: "swift-http-structured-headers")],
            resources: [.copy("Vectors")],
            swiftSettings: strictSwift6
        ),
        .testTarget(
            name: "CRTAuthJWTTests",
            dependencies: ["AuthCore", "CRTAuth", "CRTAuthJWT", "CRTAuthSQLite", "SSHKeys", .product(name: "Crypto", package: "swift-crypto")],
            resources: [.copy("Vectors")],
            swiftSettings: strictSwift6
        ),
        .testTarget(
            name: "CRTAuthLDAPTests",
            dependencies: ["AuthCore", "CRTAuth", "CRTAuthLDAP", "SSHKeys", "TestSupport", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strictSwift6
        ),
        .testTarget(
            name: "CRTAuthPostgresTests",
            dependencies: ["AuthCore", "CRTAuth", "CRTAuthPostgres", "SSHKeys", "TestSupport", .product(name: "Crypto", package: "swift-crypto"), .product(name: "Logging", package: "swift-log")],
            swiftSettings: strictSwift6
        ),
        .testTarget(
            name: "CRTAuthSQLiteTests",
            dependencies: ["AuthCore", "CRTAuth", "CRTAuthSQLite", "SSHKeys", "TestSupport"],
            swiftSettings: strictSwift6
        ),
        .testTarget(
            name: "GatewayTests",
            dependencies: ["AuthCore", "SSHKeys", "SSHAgent", "TestSupport", "CRTAuthCLI", "CRTAuth", "CRTAuthJWT", "CRTAuthSignatures", .product(name: "Crypto", package: "swift-crypto")],
            resources: [.copy("Peers")],
            swiftSettings: strictSwift6
        ),
        .testTarget(
            name: "CLITests",
            dependencies: ["SSHKeys", "TestSupport", "CRTAuthCLI"],
            swiftSettings: strictSwift6
        ),
    ]
)
