// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "captured",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "captured", targets: ["captured"]),
        .executable(name: "capturectl", targets: ["capturectl"]),
        .executable(name: "psp-simulator", targets: ["psp-simulator"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        // The domain: money, states, expiry windows, policies, budgets, schedules. No I/O.
        .target(name: "CaptureCore"),

        // SQLite through GRDB: migrations (embedded from migrations/ at build time), the
        // repository, the hash-chained audit log, the configuration loader.
        .target(
            name: "CaptureStore",
            dependencies: [
                "CaptureCore",
                .product(name: "GRDB", package: "GRDB.swift"),
                // The SQLite C API, for the import's insert (`PreparedInsert`).
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                "CSQLiteSettings",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            plugins: ["EmbedMigrationsPlugin"]
        ),
        .executableTarget(name: "MigrationEmbedder"),
        // PostgreSQL through postgres-nio, behind a synchronous facade (the store's API is
        // synchronous): the location and its password file, a small connection pool, read and write
        // transactions, the migrations of migrations/postgres/ (embedded like SQLite's), the leader lease.
        .target(
            name: "CapturePostgres",
            dependencies: [
                "CaptureCore",
                "CaptureStore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            plugins: ["EmbedMigrationsPlugin"]
        ),
        // A throwaway PostgreSQL cluster per process (initdb, pg_ctl as the postgres user when root)
        // for the tests, the reliability suite and the bench; nil with a reason when none can start.
        .target(name: "PostgresServerFixture"),
        // Opens the store the configuration names (the SQLite file, or PostgreSQL), for the daemon,
        // `captured migrate` and `capturectl` alike.
        .target(
            name: "CaptureStorage",
            dependencies: [
                "CaptureConfig", "CaptureStore", "CapturePostgres",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Process-wide SQLite settings through `sqlite3_config`, which Swift cannot call (variadic).
        .target(
            name: "CSQLiteSettings",
            dependencies: [.product(name: "GRDBSQLite", package: "GRDB.swift")]
        ),

        // The YAML file and CAPTURED_* environment overrides, validated at load. Yams directly:
        // swift-configuration's YAML provider rejects lists of mappings, which `expiry:` is.
        .target(
            name: "CaptureConfig",
            dependencies: [
                "CaptureCore",
                .product(name: "Yams", package: "Yams"),
            ]
        ),

        // Log lines an operator reads: logfmt or JSON, journald priority prefixes, alerts.
        .target(
            name: "CaptureLogging",
            dependencies: ["CaptureCore", .product(name: "Logging", package: "swift-log")]
        ),
        // The sd_notify datagram protocol (READY=1, STATUS=, WATCHDOG=1, STOPPING=1).
        .target(name: "SystemdNotify"),
        .plugin(
            name: "EmbedMigrationsPlugin",
            capability: .buildTool(),
            dependencies: ["MigrationEmbedder"],
            path: "Sources/EmbedMigrationsPlugin"
        ),

        // PSP clients: one PaymentProvider protocol, Bambora and Swedbank Pay on AsyncHTTPClient.
        .target(
            name: "PSP",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                // Request counts and latencies, through whatever factory the caller passes (`PSPMetrics`).
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        // Both PSPs as in-process HTTP servers with fault injection.
        .target(
            name: "PSPSimulator",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "psp-simulator",
            dependencies: [
                "PSPSimulator",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),

        // `captured demo`: simulators, sample authorizations and the real daemon, in one process.
        .target(
            name: "CaptureDemo",
            dependencies: [
                "CaptureCore", "CaptureStore", "CaptureConfig", "CaptureDaemon", "CaptureLogging",
                "CaptureReports", "PSP",
                "PSPSimulator", .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // The status report and one authorization, rendered for people and scripts.
        .target(name: "CaptureReports", dependencies: ["CaptureCore"]),

        // What capturectl and the shop API both do (register, capture, skip, retry, show, status):
        // one implementation, so that the two cannot disagree.
        .target(
            name: "CaptureCommands",
            dependencies: ["CaptureCore", "CaptureStore", "CaptureConfig", "CaptureReports"]
        ),
        // The Prometheus metrics of PRODUCT.md: one registry per daemon, counters the services feed,
        // gauges read from the database at scrape, the text exposition `GET /metrics` serves.
        .target(
            name: "CaptureMetrics",
            dependencies: [
                "CaptureCore",
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        // The shop API: HTTP + JSON on a Unix socket or TCP, scoped tokens, problem+json, OpenAPI.
        .target(
            name: "CaptureAPI",
            dependencies: [
                "CaptureCore", "CaptureStore", "CaptureConfig", "CaptureReports", "CaptureCommands",
                "CaptureMetrics",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),

        // Webhooks: the outbox's events POSTed to the shop, signed, at least once, in order per
        // authorization, retried with back-off (a service of the daemon).
        .target(
            name: "CaptureWebhooks",
            dependencies: [
                "CaptureCore", "CaptureStore", "CaptureConfig",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),

        // The services and the one function that builds the ServiceGroup.
        .target(
            name: "CaptureDaemon",
            dependencies: [
                "CaptureCore",
                "CaptureStore",
                "CapturePostgres",
                "PSP",
                "CaptureConfig",
                "CaptureLogging",
                "CaptureAPI",
                "CaptureMetrics",
                "CaptureWebhooks",
                "SystemdNotify",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "captured",
            dependencies: [
                "CaptureCore",
                "CaptureStore",
                "CaptureStorage",
                "CaptureDaemon",
                "CaptureConfig",
                "CaptureLogging",
                "CaptureDemo",
                "CaptureWebhooks",
                "SystemdNotify",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "capturectl",
            dependencies: [
                "CaptureCommands",
                "CaptureCore",
                "CaptureStore",
                "CaptureStorage",
                "CaptureConfig",
                "CaptureReports",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // The performance benchmark: the built binaries and the libraries against baselines, in one run.
        .executableTarget(
            name: "captured-bench",
            dependencies: [
                "CaptureCore", "CaptureStore", "CaptureConfig", "CaptureDaemon", "CaptureWebhooks", "PSP",
                "PSPSimulator", "CapturePostgres", "PostgresServerFixture",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),

        // `swift run captured-reliability --quick|--full`: the real binaries against the standalone
        // simulator, beaten on (kill -9, PSP faults, bad input, tampering, storage faults, clock jumps).
        .executableTarget(
            name: "captured-reliability",
            dependencies: [
                "PSPSimulator",
                "PostgresServerFixture",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
            ]
        ),

        .testTarget(name: "CaptureCoreTests", dependencies: ["CaptureCore"]),
        .testTarget(
            name: "CaptureStoreTests",
            dependencies: [
                "CaptureCore", "CaptureStore", .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .testTarget(
            name: "PSPTests",
            dependencies: [
                "PSP",
                "PSPSimulator",
                "CaptureMetrics",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "PSPSimulatorTests",
            dependencies: [
                "PSP",
                "PSPSimulator",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "CaptureDaemonTests",
            dependencies: [
                "CaptureDaemon", "CaptureCore", "CaptureConfig", "CaptureStore", "PSP", "PSPSimulator",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "CaptureConfigTests", dependencies: ["CaptureConfig", "CaptureCore"]),
        .testTarget(
            name: "CaptureAPITests",
            dependencies: [
                "CaptureAPI", "CaptureCommands", "CaptureConfig", "CaptureCore", "CaptureStore",
                "CaptureMetrics",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ]
        ),
        // The exposition parses as Prometheus text; the example alerting rules name only exported metrics.
        .testTarget(
            name: "CaptureMetricsTests",
            dependencies: [
                "CaptureMetrics", "CaptureCore", .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        .testTarget(
            name: "CaptureWebhooksTests",
            dependencies: [
                "CaptureWebhooks", "CaptureConfig", "CaptureCore", "CaptureStore", "PSPSimulator",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Against a real PostgreSQL from PostgresServerFixture (skipped, with the reason, without one):
        // migrations, schema parity with SQLite (GRDB), transactions, the lease, the location.
        .testTarget(
            name: "CapturePostgresTests",
            dependencies: [
                "CapturePostgres", "CaptureStore", "CaptureCore", "PostgresServerFixture",
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        // The store contract: one suite every AuthorizationStore implementation must pass, through the
        // protocol only (Tests/StoreContractTests/StoreBackend.swift lists the backends).
        .testTarget(
            name: "StoreContractTests",
            dependencies: ["CaptureStore", "CaptureCore", "CapturePostgres", "PostgresServerFixture"]
        ),
        .testTarget(name: "CaptureLoggingTests", dependencies: ["CaptureLogging", "SystemdNotify"]),
        .testTarget(name: "SystemdNotifyTests", dependencies: ["SystemdNotify"]),
        .testTarget(
            name: "CapturectlTests",
            dependencies: ["CaptureCore", "CaptureStore", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        // Runs the built captured, capturectl and psp-simulator; the libraries only for their types
        // (the simulator's ledger, the lists of states and alert codes).
        .testTarget(
            name: "CapturedEndToEndTests",
            dependencies: [
                "CaptureCore",
                "PSPSimulator",
                "PostgresServerFixture",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
    ]
)
