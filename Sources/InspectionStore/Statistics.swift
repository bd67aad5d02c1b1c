import Foundation
import GRDB
import InspectionCore

/// One agency's figures for a period (SPEC §5): visits, inspection occasions, the share of
/// occasions covered by a registered task (计划检查率, target ≥ 75 %), the share of occasions that
/// were joint inspections (联合检查实施率, target ≥ 80 %), and alerts by kind (withdrawn ones not
/// counted). The row with `agencyId` nil is the whole office: an occasion shared by several
/// agencies (a joint inspection) counts once there.
public struct AgencyStatistics: Sendable, Equatable {
    public static let plannedTarget = 0.75
    public static let jointTarget = 0.80

    public var agencyId: String?
    public var visits = 0
    public var occasions = 0
    public var coveredOccasions = 0
    public var jointOccasions = 0
    public var alerts: [AlertKind: Int] = [:]

    public var plannedShare: Double? { occasions == 0 ? nil : Double(coveredOccasions) / Double(occasions) }
    public var jointShare: Double? { occasions == 0 ? nil : Double(jointOccasions) / Double(occasions) }
}

extension Store {
    /// Figures for visits starting, and alerts raised, in [from, to); every agency with a visit or
    /// an alert then, or only `agencyId`; the total row first.
    public func statistics(from: Millis, to: Millis, agencyId: String? = nil) throws -> [AgencyStatistics] {
        try pool.read { db in
            let agencyClause = agencyId == nil ? "v.agency_id IS NOT NULL" : "v.agency_id = ?"
            var args: [(any DatabaseValueConvertible)?] = [from, to]
            if let agencyId { args.append(agencyId) }
            let visitSQL = """
                SELECT %@ AS agency, count(*) AS visits, count(DISTINCT v.occasion_id) AS occasions,
                       count(DISTINCT CASE WHEN v.task_id IS NOT NULL THEN v.occasion_id END) AS covered,
                       count(DISTINCT CASE WHEN t.kind = 'joint' OR t.partner_agency_ids != '' THEN v.occasion_id END) AS joint
                FROM visits v LEFT JOIN tasks t ON t.task_id = v.task_id
                WHERE v.start >= ? AND v.start < ? AND v.superseded_at IS NULL AND \(agencyClause)
                """
            var rows: [String?: AgencyStatistics] = [:]
            func take(_ r: Row, into s: inout AgencyStatistics) {
                s.visits = r["visits"]; s.occasions = r["occasions"]; s.coveredOccasions = r["covered"]; s.jointOccasions = r["joint"]
            }
            var total = AgencyStatistics(agencyId: nil)
            if let r = try Row.fetchOne(db, sql: visitSQL.replacingOccurrences(of: "%@", with: "NULL"), arguments: StatementArguments(args)) {
                take(r, into: &total)
            }
            for r in try Row.fetchAll(db, sql: visitSQL.replacingOccurrences(of: "%@", with: "v.agency_id") + " GROUP BY v.agency_id",
                                      arguments: StatementArguments(args)) {
                let a: String = r["agency"]
                var s = AgencyStatistics(agencyId: a)
                take(r, into: &s)
                rows[a] = s
            }
            let alertClause = agencyId == nil ? "agency_id IS NOT NULL" : "agency_id = ?"
            for r in try Row.fetchAll(db, sql: """
                SELECT agency_id, kind, count(*) AS n FROM alerts
                WHERE at >= ? AND at < ? AND status != 'withdrawn' AND \(alertClause) GROUP BY agency_id, kind
                """, arguments: StatementArguments(args)) {
                let a: String = r["agency_id"]
                guard let kind = AlertKind(rawValue: r["kind"]) else { continue }
                let n: Int = r["n"]
                rows[a, default: AgencyStatistics(agencyId: a)].alerts[kind, default: 0] += n
                total.alerts[kind, default: 0] += n
            }
            if agencyId == nil {
                // Alerts of trackers with no agency count in the total.
                for r in try Row.fetchAll(db, sql: """
                    SELECT kind, count(*) AS n FROM alerts WHERE at >= ? AND at < ? AND status != 'withdrawn' AND agency_id IS NULL GROUP BY kind
                    """, arguments: [from, to]) {
                    if let kind = AlertKind(rawValue: r["kind"]) { total.alerts[kind, default: 0] += r["n"] as Int }
                }
            }
            return [total] + rows.values.sorted { byteOrder($0.agencyId ?? "", $1.agencyId ?? "") }
        }
    }
}
