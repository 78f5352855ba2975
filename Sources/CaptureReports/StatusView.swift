import CaptureCore

/// The status report as people and scripts read it (`capturectl status`, `captured demo`).
public enum StatusView {
    public static func item(_ item: StatusReport.Item) -> JSONValue {
        .object([
            "id": .string(item.id), "psp": .string(item.psp.rawValue), "state": .string(item.state.rawValue),
            "reason": item.reason.map(JSONValue.string) ?? .null, "deadline": .string(item.deadline.rfc3339),
            "remaining_amount": .integer(item.remaining.minorUnits),
            "currency": .string(item.remaining.currency.code),
        ])
    }

    public static func json(_ report: StatusReport) -> JSONValue {
        let health = report.health
        var counts: [String: JSONValue] = [:]
        for state in AuthorizationState.allCases {
            counts[state.rawValue] = .integer(Int64(report.counts[state] ?? 0))
        }
        let daemon: JSONValue = .object([
            "heartbeat_at": report.heartbeat.map { .string($0.at.rfc3339) } ?? .null,
            "stale": .bool(report.heartbeatStale),
            "version": report.heartbeat.map { .string($0.version) } ?? .null,
            "pid": report.heartbeat.map { .integer(Int64($0.pid)) } ?? .null,
            "started_at": report.heartbeat.map { .string($0.startedAt.rfc3339) } ?? .null,
            "summary": report.heartbeat?.summary.map(JSONValue.string) ?? .null,
        ])
        return .object([
            "status": .string(health.level.description),
            "reasons": .array(health.reasons.map(JSONValue.string)),
            "now": .string(report.now.rfc3339),
            "daemon": daemon,
            "counts": .object(counts),
            "next_deadline": report.nextDeadline.map(item) ?? .null,
            "attention": .array(report.attention.map(item)),
            "attention_total": .integer(Int64(report.attentionTotal)),
            "due_soon": .array(report.dueSoon.map(item)),
            "due_soon_total": .integer(Int64(report.dueSoonTotal)),
            "last_acknowledgement": report.lastAcknowledgement.map { .string($0.rfc3339) } ?? .null,
            "deadlines_by_day": .array(
                report.deadlinesPerDay.map {
                    .object([
                        "day": .string(String($0.day.rfc3339.prefix(10))), "count": .integer(Int64($0.count)),
                    ])
                }),
            "reconciliation": reconciliation(report),
            "psps": psps(report),
            "daemons": .array(
                report.daemons.map {
                    .object([
                        "pid": .integer(Int64($0.pid)), "host": .string($0.host),
                        "role": .string($0.role.rawValue),
                        "heartbeat_at": .string($0.heartbeatAt.rfc3339),
                    ])
                }),
        ])
    }

    /// `{"oldest_read_at", "lag_seconds", "reads_last_hour"}`.
    static func reconciliation(_ report: StatusReport) -> JSONValue {
        let reconciliation = report.reconciliation
        return .object([
            "oldest_read_at": reconciliation.oldestReadAt.map { .string($0.rfc3339) } ?? .null,
            "lag_seconds": .integer(reconciliation.lagSeconds(now: report.now)),
            "reads_last_hour": .integer(Int64(reconciliation.readsLastHour)),
        ])
    }

    /// Per PSP: `{"paused_until", "requests_last_minute", "updated_at"}`; `paused_until` is null when
    /// the PSP is not paused now.
    static func psps(_ report: StatusReport) -> JSONValue {
        var psps: [String: JSONValue] = [:]
        for row in report.psps {
            psps[row.psp.rawValue] = .object([
                "paused_until": row.isPaused(at: report.now) ? .string(row.pausedUntil!.rfc3339) : .null,
                "requests_last_minute": .integer(Int64(row.requestsLastMinute)),
                "updated_at": row.updatedAt.map { .string($0.rfc3339) } ?? .null,
            ])
        }
        return .object(psps)
    }

    public static func text(_ report: StatusReport) -> String {
        let health = report.health
        var lines: [String] = []
        lines.append(
            "captured \(health.level)"
                + (health.reasons.isEmpty ? "" : " - " + health.reasons.joined(separator: "; ")))
        lines.append("")
        if let heartbeat = report.heartbeat {
            let age = relative(heartbeat.at, now: report.now)
            lines.append(
                "daemon     \(report.heartbeatStale ? "STALE" : "running"), heartbeat \(age) (pid \(heartbeat.pid), version \(heartbeat.version))"
                    + (heartbeat.summary.map { " - \($0)" } ?? ""))
        } else {
            lines.append("daemon     never seen on this database")
        }
        // Several daemons share a PostgreSQL database: say who leads and who stands by.
        if report.daemons.count > 1 || report.daemons.contains(where: { $0.role == .standby }) {
            for daemon in report.daemons {
                lines.append(
                    "           \(daemon.role.rawValue) pid \(daemon.pid) on \(daemon.host), heartbeat \(relative(daemon.heartbeatAt, now: report.now))"
                )
            }
        }
        let open = AuthorizationState.allCases.filter(\.isOpen)
        let closed = AuthorizationState.allCases.filter { !$0.isOpen }
        func counts(_ states: [AuthorizationState]) -> String {
            states.map { "\($0.rawValue) \(report.counts[$0] ?? 0)" }.joined(separator: "  ")
        }
        lines.append("open       \(counts(open))")
        lines.append("closed     \(counts(closed))")
        let reconciliation = report.reconciliation
        lines.append(
            "reconcile  "
                + (reconciliation.oldestReadAt.map { "oldest read \(relative($0, now: report.now))" }
                    ?? "nothing open to read")
                + ", \(reconciliation.readsLastHour) reads in the last hour")
        if !report.psps.isEmpty {
            lines.append(
                "psps       "
                    + report.psps.map { row in
                        "\(row.psp) \(row.requestsLastMinute) requests/min"
                            + (row.isPaused(at: report.now)
                                ? " PAUSED until \(row.pausedUntil!.rfc3339)" : "")
                    }.joined(separator: "  "))
        }
        if let next = report.nextDeadline {
            lines.append(
                "next       \(next.id) (\(next.state)) deadline \(next.deadline.rfc3339), \(relative(next.deadline, now: report.now))"
            )
        }
        if report.attentionTotal > 0 {
            lines.append("")
            lines.append("needs attention (\(report.attentionTotal))")
            for item in report.attention {
                lines.append(
                    "  \(item.id)  \(item.psp)  \(item.remaining)  deadline \(relative(item.deadline, now: report.now))  \(item.reason ?? "")"
                )
            }
            if report.attentionTotal > report.attention.count {
                lines.append("  ... and \(report.attentionTotal - report.attention.count) more")
            }
        }
        if report.dueSoonTotal > 0 {
            lines.append("")
            lines.append("due soon (\(report.dueSoonTotal))")
            for item in report.dueSoon.prefix(10) {
                lines.append(
                    "  \(item.id)  \(item.state)  \(item.remaining)  deadline \(item.deadline.rfc3339) (\(relative(item.deadline, now: report.now)))"
                )
            }
            if report.dueSoonTotal > 10 {
                lines.append("  ... and \(report.dueSoonTotal - 10) more (status --json lists up to 100)")
            }
        }
        lines.append("")
        lines.append("deadlines, next 7 days (UTC)")
        let most = max(1, report.deadlinesPerDay.map(\.count).max() ?? 1)
        let weekdays = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]  // 1970-01-01 was a Thursday
        for (day, count) in report.deadlinesPerDay {
            let weekday = weekdays[Int((day.millisecondsSinceEpoch / 86_400_000) % 7)]
            let bar = String(repeating: "#", count: count == 0 ? 0 : max(1, count * 40 / most))
            lines.append("  \(weekday) \(day.rfc3339.prefix(10))  \(bar)\(bar.isEmpty ? "" : " ")\(count)")
        }
        return lines.joined(separator: "\n")
    }
}
