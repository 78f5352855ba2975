import CaptureCore
import CaptureStore

extension PostgresStore {
    /// Records each PSP's request budget as the leader sees it now (one row per PSP, replaced), for
    /// `capturectl status`. Each row says when it was seen (`updatedAt`); one without is not written.
    public func writePSPTraffic(_ rows: [PSPTrafficRow]) throws(StoreError) {
        let rows = rows.filter { $0.updatedAt != nil }
        guard !rows.isEmpty else { return }
        try write { transaction in
            for row in rows {
                guard let updatedAt = row.updatedAt else { continue }
                try transaction.execute(
                    """
                    INSERT INTO psp_traffic (psp, paused_until, requests_last_minute, updated_at)
                    VALUES ($1, $2, $3, $4)
                    ON CONFLICT (psp) DO UPDATE SET paused_until = EXCLUDED.paused_until,
                        requests_last_minute = EXCLUDED.requests_last_minute, updated_at = EXCLUDED.updated_at
                    """,
                    [
                        row.psp.rawValue, row.pausedUntil?.millisecondsSinceEpoch,
                        Int64(max(0, row.requestsLastMinute)), updatedAt.millisecondsSinceEpoch,
                    ])
            }
        }
    }

    /// Each PSP in `configured`, and each the daemon recorded traffic for, in name order; a
    /// configured PSP with no record yet is listed unpaused with no requests.
    public func pspTraffic(configured: Set<PaymentServiceProvider> = []) throws(StoreError) -> [PSPTrafficRow]
    {
        try read { transaction in try Self.pspTraffic(transaction, configured: configured) }
    }

    static func pspTraffic(_ transaction: PostgresStoreTransaction, configured: Set<PaymentServiceProvider>)
        throws -> [PSPTrafficRow]
    {
        var rows: [PaymentServiceProvider: PSPTrafficRow] = [:]
        for psp in configured {
            rows[psp] = PSPTrafficRow(psp: psp, pausedUntil: nil, requestsLastMinute: 0, updatedAt: nil)
        }
        for row in try transaction.query(
            "SELECT psp, paused_until, requests_last_minute, updated_at FROM psp_traffic")
        {
            // A PSP this version does not know (a newer daemon's) is left out rather than guessed at.
            guard let psp = PaymentServiceProvider(rawValue: try row[0]) else { continue }
            rows[psp] = PSPTrafficRow(
                psp: psp,
                pausedUntil: (try row[1] as Int64?).map(Instant.init(millisecondsSinceEpoch:)),
                requestsLastMinute: Int(try row[2] as Int64),
                updatedAt: Instant(millisecondsSinceEpoch: try row[3]))
        }
        return rows.values.sorted { $0.psp.rawValue < $1.psp.rawValue }
    }
}
