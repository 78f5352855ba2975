import Synchronization

extension CaptureDatabase {
    /// For `captured-bench` only (its `outbox` workload): while true, ``Outbox`` writes no event row
    /// and no alert record, so that a change's transaction is the same minus those inserts and the
    /// bench can measure, in the same run, what the outbox costs the capture path. Process-wide and
    /// false unless set; reachable only through `@_spi(Benchmarks) import CaptureStore`, which
    /// nothing but the bench does. Set anywhere else, shops and operators would never hear of the
    /// changes made meanwhile.
    @_spi(Benchmarks) public static let withoutOutboxForBenchmarks = Atomic<Bool>(false)
}
