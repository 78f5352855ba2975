import CaptureAPI
import CaptureConfig
import CaptureCore
import CaptureMetrics
import CaptureStore
import Foundation

/// A fresh database on a real file in a scratch directory, and the configuration naming it: what
/// every test of the API starts from. The directory is removed by ``withScratchStore(maxBody:_:)``.
struct ScratchStore: Sendable {
    let directory: URL
    let configuration: CaptureConfiguration
    let database: CaptureDatabase

    /// The API over this store.
    func api(
        tokens: [APIToken], now: Instant = Instant(millisecondsSinceEpoch: 1_795_000_000_000),
        metrics: CaptureMetrics? = nil, bodyTimeout: Duration = ShopAPI.bodyTimeout
    ) -> ShopAPI {
        ShopAPI(
            database: database, configuration: configuration, tokens: tokens, now: { now },
            logger: .init(label: "test"), metrics: metrics, bodyTimeout: bodyTimeout)
    }
}

/// Runs `body` with a scratch store (`api.max_body` set when given), then removes it.
func withScratchStore<Result>(maxBody: Int? = nil, _ body: (ScratchStore) async throws -> Result)
    async throws -> Result
{
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
        "captured-api-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    var configuration = try ConfigurationLoader.parse(
        yaml: "database: \(directory.path)/captured.sqlite\n", path: "test.yaml", environment: [:])
    if let maxBody { configuration.api.maxBody = maxBody }
    let database = try CaptureDatabase(path: configuration.database, mode: .migrate)
    return try await body(
        ScratchStore(directory: directory, configuration: configuration, database: database))
}
