import Foundation
import GRDB
import InspectionCore

/// Which visits to list: by task besides the common narrowing.
public struct VisitFilter: NarrowsRecords, Sendable {
    public var records = RecordFilter()
    public var taskId: String?
    public init() {}
}

extension Store {
    static func visit(_ r: Row) -> VisitRecord {
        VisitRecord(visitId: r["visit_id"], vehicleId: r["vehicle_id"], agencyId: r["agency_id"], siteId: r["site_id"],
                    enterpriseId: r["enterprise_id"], start: r["start"], end: r["end"], points: r["points"],
                    taskId: r["task_id"], occasionId: r["occasion_id"], openedAt: r["opened_at"])
    }

    /// Visits newest first, and how many match in all.
    public func visits(_ f: VisitFilter) async throws -> (items: [VisitRecord], total: Int) {
        var c = Conditions()
        c.filter(f.records, time: "start")
        c.equal("task_id", f.taskId)
        c.add("superseded_at IS NULL", [])
        return try await page("visits", c, order: "start DESC, visit_id DESC", limit: f.limit, offset: f.offset, Self.visit)
    }

    /// Whether late positions superseded a visit: by which visit (if one replaced it), and when.
    public func supersession(visitId: String) async throws -> (by: String?, at: Millis)? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT superseded_by, superseded_at FROM visits WHERE visit_id = ? AND superseded_at IS NOT NULL",
                             arguments: [visitId]).map { ($0["superseded_by"], $0["superseded_at"]) }
        }
    }

    public func visit(id: String) async throws -> VisitRecord? {
        try await pool.read { db in try Row.fetchOne(db, sql: "SELECT * FROM visits WHERE visit_id = ?", arguments: [id]).map(Self.visit) }
    }

    /// Visits whose occasion is one of these (the evidence an alert's detail names).
    public func visits(inOccasions ids: [String], limit: Int = 50) async throws -> [VisitRecord] {
        guard !ids.isEmpty else { return [] }
        return try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM visits WHERE superseded_at IS NULL AND occasion_id IN (" + ids.map { _ in "?" }.joined(separator: ",")
                                 + ") ORDER BY start, visit_id LIMIT ?", arguments: StatementArguments(ids) + [limit]).map(Self.visit)
        }
    }

    /// The positions that make a visit, in time order (its track).
    public func track(visitId: String) async throws -> [Fix] {
        try await pool.read { db in try Self.track(visitId, db) }
    }

    /// The positions that make a visit, in time order.
    public func evidence(visitId: String) throws -> [Fix] {
        try pool.read { db in try Self.track(visitId, db) }
    }

    static func track(_ visitId: String, _ db: Database) throws -> [Fix] {
        try Row.fetchAll(db, sql: "SELECT ts, lat, lon FROM visit_positions WHERE visit_id = ? ORDER BY ts", arguments: [visitId])
            .map { Fix(ts: $0["ts"], lat: $0["lat"], lon: $0["lon"]) }
    }

    /// Every visit seen at an enterprise (none superseded), as the rules take them again (`Engine.rematch`).
    public func seenVisits(enterprise: String) throws -> [VisitRecord] {
        try pool.read { db in try Row.fetchAll(db, sql: "SELECT * FROM visits WHERE enterprise_id = ? AND superseded_at IS NULL", arguments: [enterprise]).map(Self.visit) }
    }
}
