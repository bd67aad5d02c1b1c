import Foundation
import GRDB
import InspectionCore

/// Where an alert stands. The supervision office acknowledges it (with a note) and resolves or
/// dismisses it (with a reason); the engine withdraws it when the rules no longer raise it (a task
/// registered late covers the visit) and opens it again if they raise it again.
public enum AlertStatus: String, Sendable, CaseIterable {
    case open, acknowledged, resolved, dismissed, withdrawn

    /// Whether someone may move an alert from `self` to `to` (the engine's own moves are not asked).
    public func allows(_ to: AlertStatus) -> Bool {
        switch (self, to) {
        case (.open, .acknowledged): return true
        case (.open, .resolved), (.open, .dismissed), (.acknowledged, .resolved), (.acknowledged, .dismissed): return true
        default: return false
        }
    }
}

/// An alert as stored: the record (its `detail` the stored JSON text, `.raw`) and where it stands.
public struct StoredAlert: Sendable {
    public var record: AlertRecord
    public var status: AlertStatus

    /// What MQTT carries (SPEC §5): the record, and its status when it is not open — an alert
    /// withdrawn, reopened or changed after it was published is published again, so a subscriber
    /// learns that too.
    public var payload: JSONValue {
        guard status != .open, case .object(var members) = record.json else { return record.json }
        members.append(("status", .string(status.rawValue)))
        return .object(members)
    }
}

/// One entry of an alert's status history.
public struct StatusChange: Sendable, Equatable {
    public var alertId: String
    public var at: Millis
    public var status: AlertStatus
    public var actor: String
    public var note: String?

    public init(alertId: String, at: Millis, status: AlertStatus, actor: String, note: String?) {
        self.alertId = alertId; self.at = at; self.status = status; self.actor = actor; self.note = note
    }
}

/// Which alerts to list: kinds and statuses (empty: any) besides the common narrowing.
public struct AlertFilter: NarrowsRecords, Sendable {
    public var records = RecordFilter()
    public var kinds: [AlertKind] = []
    public var statuses: [AlertStatus] = []
    public init() {}
}

extension Store {
    static func alert(_ r: Row) -> StoredAlert {
        let detail: String = r["detail"]
        let record = AlertRecord(alertId: r["alert_id"], kind: AlertKind(rawValue: r["kind"]) ?? .unregisteredVisit,
                                 severity: Severity(rawValue: r["severity"]) ?? .medium, at: r["at"],
                                 enterpriseId: r["enterprise_id"], siteId: r["site_id"], agencyId: r["agency_id"],
                                 vehicleId: r["vehicle_id"], visitId: r["visit_id"], taskId: r["task_id"], detail: .raw(detail))
        return StoredAlert(record: record, status: AlertStatus(rawValue: r["status"]) ?? .open)
    }

    /// Alerts newest first, and how many match in all.
    public func alerts(_ f: AlertFilter) async throws -> (items: [StoredAlert], total: Int) {
        var c = Conditions()
        c.oneOf("kind", f.kinds.map(\.rawValue))
        c.oneOf("status", f.statuses.map(\.rawValue))
        c.filter(f.records, time: "at")
        return try await page("alerts", c, order: "at DESC, alert_id DESC", limit: f.limit, offset: f.offset, Self.alert)
    }

    public func alert(id: String) async throws -> StoredAlert? {
        try await pool.read { db in try Row.fetchOne(db, sql: "SELECT * FROM alerts WHERE alert_id = ?", arguments: [id]).map(Self.alert) }
    }

    /// The alert's status changes, oldest first, its opening included (empty for an unknown id).
    public func alertHistory(id: String) async throws -> [StatusChange] {
        try await pool.read { db in
            guard let at = try Millis.fetchOne(db, sql: "SELECT at FROM alerts WHERE alert_id = ?", arguments: [id]) else { return [] }
            let rows = try Row.fetchAll(db, sql: "SELECT * FROM alert_status WHERE alert_id = ? ORDER BY id", arguments: [id]).map {
                StatusChange(alertId: $0["alert_id"], at: $0["at"], status: AlertStatus(rawValue: $0["status"]) ?? .open,
                             actor: $0["actor"], note: $0["note"])
            }
            // An opening by the engine at the alert's own time has no row (`insertAlert`); stores
            // written before that have one.
            if rows.first?.status == .open { return rows }
            return [StatusChange(alertId: id, at: at, status: .open, actor: "engine", note: nil)] + rows
        }
    }

    public enum StatusOutcome: Sendable {
        case changed(StatusChange)
        case notFound
        /// The move is not allowed from where the alert stands.
        case conflict(AlertStatus)
    }

    /// Someone moves an alert (acknowledge, resolve, dismiss); checked and written in one transaction.
    /// `agencyId` confines the move to that agency's alerts (others are not found).
    public func changeStatus(alertId: String, to status: AlertStatus, actor: String, note: String?, at: Millis,
                             agencyId: String? = nil) async throws -> StatusOutcome {
        try await pool.write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT status, agency_id FROM alerts WHERE alert_id = ?", arguments: [alertId]),
                  agencyId == nil || (row["agency_id"] as String?) == agencyId else { return .notFound }
            let current = AlertStatus(rawValue: row["status"]) ?? .open
            guard current.allows(status) else { return .conflict(current) }
            try Self.setStatus(alertId, status, actor: actor, note: note, at: at, db)
            return .changed(StatusChange(alertId: alertId, at: at, status: status, actor: actor, note: note))
        }
    }

    static func setStatus(_ alertId: String, _ status: AlertStatus, actor: String, note: String?, at: Millis, _ db: Database) throws {
        try db.execute(sql: "UPDATE alerts SET status = ? WHERE alert_id = ?", arguments: [status.rawValue, alertId])
        try db.execute(sql: "INSERT INTO alert_status (alert_id, at, status, actor, note) VALUES (?, ?, ?, ?, ?)",
                       arguments: [alertId, at, status.rawValue, actor, note])
    }
}
