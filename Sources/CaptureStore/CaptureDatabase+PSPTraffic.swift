import CaptureCore
import GRDB

extension CaptureDatabase {
    /// Records each PSP's request budget as the daemon sees it now (one row per PSP, replaced), for
    /// `capturectl status`. Each row says when it was seen (`updatedAt`); one without is not written.
    public func writePSPTraffic(_ rows: [PSPTrafficRow]) throws(StoreError) {
        let rows = rows.filter { $0.updatedAt != nil }
        guard !rows.isEmpty else { return }
        try write { db in
            for row in rows {
                guard let updatedAt = row.updatedAt else { continue }
                try db.cachedStatement(
                    sql: """
                        INSERT INTO psp_traffic (psp, paused_until, requests_last_minute, updated_at) VALUES (?, ?, ?, ?)
                        ON CONFLICT (psp) DO UPDATE SET paused_until = excluded.paused_until,
                            requests_last_minute = excluded.requests_last_minute, updated_at = excluded.updated_at
                        """
                ).execute(arguments: [
                    row.psp.rawValue, row.pausedUntil?.millisecondsSinceEpoch, max(0, row.requestsLastMinute),
                    updatedAt.millisecondsSinceEpoch,
                ])
            }
        }
    }

    /// Each PSP in `configured`, and each the daemon recorded traffic for, in name order; a
    /// configured PSP with no record yet is listed unpaused with no requests.
    public func pspTraffic(configured: Set<PaymentServiceProvider> = []) throws(StoreError) -> [PSPTrafficRow]
    {
        try read { db in try CaptureDatabase.pspTraffic(db, configured: configured) }
    }

    static func pspTraffic(_ db: Database, configured: Set<PaymentServiceProvider>) throws -> [PSPTrafficRow]
    {
        var rows: [PaymentServiceProvider: PSPTrafficRow] = [:]
        for psp in configured {
            rows[psp] = PSPTrafficRow(psp: psp, pausedUntil: nil, requestsLastMinute: 0, updatedAt: nil)
        }
        for row in try Row.fetchAll(
            db, sql: "SELECT psp, paused_until, requests_last_minute, updated_at FROM psp_traffic")
        {
            // A PSP this version does not know (a newer daemon's) is left out rather than guessed at.
            guard let psp = PaymentServiceProvider(rawValue: row["psp"]) else { continue }
            rows[psp] = PSPTrafficRow(
                psp: psp,
                pausedUntil: (row["paused_until"] as Int64?).map(Instant.init(millisecondsSinceEpoch:)),
                requestsLastMinute: row["requests_last_minute"],
                updatedAt: Instant(millisecondsSinceEpoch: row["updated_at"]))
        }
        return rows.values.sorted { $0.psp.rawValue < $1.psp.rawValue }
    }
}
