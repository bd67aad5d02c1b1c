import Foundation
import GRDB
import InspectionCore

/// Which visits to list (nil: any). `agencyId` also confines an agency's token to its own.
public struct VisitFilter: Sendable {
    public var agencyId: String?
    public var enterpriseId: String?
    public var siteId: String?
    public var vehicleId: String?
    public var taskId: String?
    public var from: Millis?
    public var to: Millis?
    public var limit = 100
    public var offset = 0
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
        var clauses: [String] = []
        var args: [(any DatabaseValueConvertible)?] = []
        for (column, value) in [("agency_id", f.agencyId), ("enterprise_id", f.enterpriseId), ("site_id", f.siteId),
                                ("vehicle_id", f.vehicleId), ("task_id", f.taskId)] {
            if let value { clauses.append("\(column) = ?"); args.append(value) }
        }
        if let from = f.from { clauses.append("start >= ?"); args.append(from) }
        if let to = f.to { clauses.append("start < ?"); args.append(to) }
        let whereSQL = clauses.isEmpty ? "" : " WHERE " + clauses.joined(separator: " AND ")
        let arguments = StatementArguments(args)
        let page = StatementArguments([f.limit, f.offset])
        return try await pool.read { db in
            let total = try Int.fetchOne(db, sql: "SELECT count(*) FROM visits" + whereSQL, arguments: arguments) ?? 0
            let items = try Row.fetchAll(db, sql: "SELECT * FROM visits" + whereSQL + " ORDER BY start DESC, visit_id DESC LIMIT ? OFFSET ?",
                                         arguments: arguments + page).map(Self.visit)
            return (items, total)
        }
    }

    public func visit(id: String) async throws -> VisitRecord? {
        try await pool.read { db in try Row.fetchOne(db, sql: "SELECT * FROM visits WHERE visit_id = ?", arguments: [id]).map(Self.visit) }
    }

    /// Visits whose occasion is one of these (the evidence an alert's detail names).
    public func visits(inOccasions ids: [String], limit: Int = 50) async throws -> [VisitRecord] {
        guard !ids.isEmpty else { return [] }
        return try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM visits WHERE occasion_id IN (" + ids.map { _ in "?" }.joined(separator: ",")
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

    /// Every visit seen at an enterprise, as the rules take them again (`Engine.rematch`).
    public func seenVisits(enterprise: String) throws -> [Engine.SeenVisit] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT visit_id, vehicle_id, agency_id, site_id, enterprise_id, start, opened_at FROM visits WHERE enterprise_id = ?",
                             arguments: [enterprise]).map {
                Engine.SeenVisit(visitId: $0["visit_id"], vehicleId: $0["vehicle_id"], agencyId: $0["agency_id"], siteId: $0["site_id"],
                                 enterpriseId: $0["enterprise_id"], start: $0["start"], openedAt: $0["opened_at"])
            }
        }
    }
}
