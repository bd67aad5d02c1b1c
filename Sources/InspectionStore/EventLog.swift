import GRDB
import InspectionCore

/// Where a reader of the office's live stream is: the alerts through outbox row `alerts` (one row
/// per alert, in commit order, never deleted) and the status changes through `alert_status` row
/// `statuses`. Written as `<alerts>-<statuses>`: the SSE `id:`, and the `Last-Event-ID` a
/// client sends back to get what it missed.
public struct EventCursor: Sendable, Equatable, CustomStringConvertible {
    public var alerts: Int64
    public var statuses: Int64

    public init(alerts: Int64, statuses: Int64) { self.alerts = alerts; self.statuses = statuses }

    public init?(_ text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, let a = Int64(parts[0]), let s = Int64(parts[1]), a >= 0, s >= 0 else { return nil }
        self.init(alerts: a, statuses: s)
    }

    public var description: String { "\(alerts)-\(statuses)" }
}

/// One event of the live stream, read back from the store.
public enum StoredEvent: Sendable {
    case alert(StoredAlert)
    case status(StatusChange, agencyId: String?)

    public var agencyId: String? {
        switch self {
        case .alert(let a): return a.record.agencyId
        case .status(_, let agency): return agency
        }
    }
}

extension Store {
    /// The cursor after everything stored now.
    public func eventCursor() async throws -> EventCursor {
        try await pool.read { db in
            EventCursor(alerts: try Int64.fetchOne(db, sql: "SELECT max(id) FROM outbox") ?? 0,
                        statuses: try Int64.fetchOne(db, sql: "SELECT max(id) FROM alert_status") ?? 0)
        }
    }

    /// Alerts raised, then status changes, after `cursor`: at most `limit` rows of each, each event
    /// with the cursor after it. `agencyId` keeps that agency's; the cursor still moves past the
    /// others (the last cursor returned is where to go on from, events or not).
    public func events(after cursor: EventCursor, agencyId: String? = nil, limit: Int = 500) async throws
        -> (events: [(event: StoredEvent, cursor: EventCursor)], next: EventCursor, more: Bool) {
        try await pool.read { db in
            var out: [(StoredEvent, EventCursor)] = []
            var c = cursor
            let alerts = try Row.fetchAll(db, sql: """
                SELECT outbox.id AS event_id, alerts.* FROM outbox JOIN alerts USING (alert_id)
                WHERE outbox.id > ? ORDER BY outbox.id LIMIT ?
                """, arguments: [cursor.alerts, limit])
            for r in alerts {
                c.alerts = r["event_id"]
                let a = Self.alert(r)
                if agencyId == nil || a.record.agencyId == agencyId { out.append((.alert(a), c)) }
            }
            let statuses = try Row.fetchAll(db, sql: """
                SELECT alert_status.*, alerts.agency_id AS agency_id FROM alert_status JOIN alerts USING (alert_id)
                WHERE alert_status.id > ? ORDER BY alert_status.id LIMIT ?
                """, arguments: [cursor.statuses, limit])
            for r in statuses {
                c.statuses = r["id"]
                let agency: String? = r["agency_id"]
                guard agencyId == nil || agency == agencyId else { continue }
                let change = StatusChange(alertId: r["alert_id"], at: r["at"], status: AlertStatus(rawValue: r["status"]) ?? .open,
                                          actor: r["actor"], note: r["note"])
                out.append((.status(change, agencyId: agency), c))
            }
            return (out, c, alerts.count == limit || statuses.count == limit)
        }
    }
}
