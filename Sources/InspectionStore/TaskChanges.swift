import Foundation
import GRDB
import InspectionCore

/// Which tasks to list (nil: any).
public struct TaskFilter: Sendable {
    public var agencyId: String?
    public var enterpriseId: String?
    public var status: InspectionTask.Status?
    public var limit = 100
    public var offset = 0
    public init() {}
}

/// A task as stored: where it came from and who last changed it.
public struct StoredTask: Sendable {
    public var task: InspectionTask
    public var source: String
    public var updatedAt: Millis
    public var updatedBy: String
    public init(task: InspectionTask, source: String, updatedAt: Millis, updatedBy: String) {
        self.task = task; self.source = source; self.updatedAt = updatedAt; self.updatedBy = updatedBy
    }
}

/// What the rules say now about one enterprise's visits (`Engine.rematch`).
public struct Rematch: Sendable {
    public var enterpriseId: String
    public var assignments: [String: VisitAssignment]
    public var alerts: [AlertRecord]
    public init(enterpriseId: String, assignments: [String: VisitAssignment], alerts: [AlertRecord]) {
        self.enterpriseId = enterpriseId; self.assignments = assignments; self.alerts = alerts
    }
}

/// What a task change did to the visits and alerts already stored.
public struct RematchOutcome: Sendable {
    public var visitsChanged = 0
    /// Alerts the rules raise now and did not before (published like any new alert).
    public var raised: [AlertRecord] = []
    /// Alerts the rules no longer raise, and withdrawn ones they raise again, each with the
    /// agency it concerns (the live stream confines an agency's token to its own).
    public var withdrawn: [(change: StatusChange, agencyId: String?)] = []
    public var reopened: [(change: StatusChange, agencyId: String?)] = []
    public init() {}
}

extension Store {
    static func storedTask(_ r: Row) -> StoredTask {
        let partners: String = r["partner_agency_ids"]
        let task = InspectionTask(id: r["task_id"], agencyId: r["agency_id"],
                                  partnerAgencyIds: partners.split(separator: ";").map(String.init),
                                  enterpriseId: r["enterprise_id"], siteId: r["site_id"],
                                  kind: TaskKind(rawValue: r["kind"]) ?? .planned, start: r["start"], end: r["end"],
                                  announcedAt: r["announced_at"], crossRegion: r["cross_region"],
                                  status: InspectionTask.Status(rawValue: r["status"]) ?? .active)
        return StoredTask(task: task, source: r["source"], updatedAt: r["updated_at"], updatedBy: r["updated_by"])
    }

    /// Every stored task.
    public func tasks() throws -> [InspectionTask] {
        try pool.read { db in try Row.fetchAll(db, sql: "SELECT * FROM tasks ORDER BY task_id").map { Self.storedTask($0).task } }
    }

    public func task(id: String) throws -> StoredTask? {
        try pool.read { db in try Self.task(id, db) }
    }

    public func task(id: String) async throws -> StoredTask? {
        try await pool.read { db in try Self.task(id, db) }
    }

    static func task(_ id: String, _ db: Database) throws -> StoredTask? {
        try Row.fetchOne(db, sql: "SELECT * FROM tasks WHERE task_id = ?", arguments: [id]).map(Self.storedTask)
    }

    /// Tasks by window start, then id, and how many match in all. `agencyId` matches the lead
    /// agency and the partners.
    public func tasks(_ f: TaskFilter) async throws -> (items: [StoredTask], total: Int) {
        var c = Conditions()
        if let a = f.agencyId { c.add("(agency_id = ? OR ';' || partner_agency_ids || ';' LIKE '%;' || ? || ';%')", [a, a]) }
        c.equal("enterprise_id", f.enterpriseId)
        c.equal("status", f.status?.rawValue)
        return try await page("tasks", c, order: "start, task_id", limit: f.limit, offset: f.offset, Self.storedTask)
    }

    /// A task registered, amended or cancelled (`task`, if any, saved as coming from the API), and
    /// what the rules now say about the visits it concerns, in one transaction: visits take their
    /// new task and occasion; alerts raised now and not before are stored and queued for
    /// publishing; alerts no longer raised are withdrawn, withdrawn ones raised again reopen,
    /// each change in the status history with `actor` and `reason`.
    public func commitTaskChange(task: InspectionTask?, actor: String, at: Millis, rematches: [Rematch],
                                 reason: String, topic: (AlertRecord) -> String) throws -> RematchOutcome {
        try pool.write { db in
            if let task { try Self.upsert(task, source: "api", actor: actor, at: at, db) }
            var outcome = RematchOutcome()
            for r in rematches {
                for (visitId, a) in r.assignments {
                    try db.execute(sql: "UPDATE visits SET task_id = ?, occasion_id = ? WHERE visit_id = ? AND (task_id IS NOT ? OR occasion_id IS NOT ?)",
                                   arguments: [a.taskId, a.occasionId, visitId, a.taskId, a.occasionId])
                    outcome.visitsChanged += db.changesCount
                }
                var before: [String: (status: AlertStatus, agencyId: String?)] = [:]
                for row in try Row.fetchAll(db, sql: "SELECT alert_id, status, agency_id FROM alerts WHERE enterprise_id = ? AND kind != ?",
                                            arguments: [r.enterpriseId, AlertKind.trackerSilent.rawValue]) {
                    before[row["alert_id"]] = (AlertStatus(rawValue: row["status"]) ?? .open, row["agency_id"])
                }
                var now = Set<String>()
                for a in r.alerts {
                    now.insert(a.alertId)
                    switch before[a.alertId]?.status {
                    case nil:
                        try Self.insertAlert(a, topic: topic(a), actor: "engine", note: reason, at: at, db)
                        outcome.raised.append(a)
                    case .withdrawn?:
                        try Self.setStatus(a.alertId, .open, actor: "engine", note: reason, at: at, db)
                        outcome.reopened.append((StatusChange(alertId: a.alertId, at: at, status: .open, actor: "engine", note: reason), a.agencyId))
                        fallthrough
                    default:
                        try db.execute(sql: "UPDATE alerts SET task_id = ?, detail = ? WHERE alert_id = ?",
                                       arguments: [a.taskId, a.detail.serialized, a.alertId])
                    }
                }
                for (id, was) in before where was.status != .withdrawn && !now.contains(id) {
                    try Self.setStatus(id, .withdrawn, actor: "engine", note: reason, at: at, db)
                    outcome.withdrawn.append((StatusChange(alertId: id, at: at, status: .withdrawn, actor: "engine", note: reason), was.agencyId))
                }
            }
            return outcome
        }
    }

    /// A new alert, its first status and its outbox row (nothing if the id is stored already).
    @discardableResult
    static func insertAlert(_ a: AlertRecord, topic: String, actor: String, note: String?, at: Millis, _ db: Database) throws -> Bool {
        try db.cachedStatement(sql: """
            INSERT OR IGNORE INTO alerts (alert_id, kind, severity, at, enterprise_id, site_id, agency_id, vehicle_id, visit_id, task_id, detail)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [a.alertId, a.kind.rawValue, a.severity.rawValue, a.at, a.enterpriseId, a.siteId, a.agencyId,
                             a.vehicleId, a.visitId, a.taskId, a.detail.serialized])
        guard db.changesCount > 0 else { return false }
        // Raised by the engine at the alert's own time, with no note: that first status is the
        // alert itself (`alertHistory` shows it), not a row. A row for every alert, with an entry
        // in an index on the random alert id, was pages written in every alert burst.
        if !Self.openingImplied(a, actor: actor, note: note, at: at) {
            try db.cachedStatement(sql: "INSERT INTO alert_status (alert_id, at, status, actor, note) VALUES (?, ?, 'open', ?, ?)")
                .execute(arguments: [a.alertId, at, actor, note])
        }
        try db.cachedStatement(sql: "INSERT INTO outbox (alert_id, topic) VALUES (?, ?)").execute(arguments: [a.alertId, topic])
        return true
    }

    /// Whether an alert's opening is the one every alert has unless a row says otherwise: by the
    /// engine, at the alert's time, without a note.
    static func openingImplied(_ a: AlertRecord, actor: String, note: String?, at: Millis) -> Bool {
        actor == "engine" && note == nil && at == a.at
    }
}
