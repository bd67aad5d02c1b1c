import Foundation
import GRDB
import InspectionCore

/// One agency's figures for a period (SPEC §5): visits, inspection occasions, the share of
/// occasions covered by a registered task (计划检查率, target ≥ 75 %), the share of occasions that
/// were joint inspections (联合检查实施率, target ≥ 80 %), the share covered by a code scan
/// (亮码检查率, target ≥ 95 %, SPEC §3.5), its scans that cover no occasion, and alerts by kind
/// (withdrawn ones not counted). The row with `agencyId` nil is the whole office: an occasion
/// shared by several agencies (a joint inspection) counts once there.
public struct AgencyStatistics: Sendable, Equatable {
    public static let plannedTarget = 0.75
    public static let jointTarget = 0.80
    public static let scannedTarget = 0.95

    public var agencyId: String?
    public var visits = 0
    public var occasions = 0
    public var coveredOccasions = 0
    public var jointOccasions = 0
    /// Occasions a scan covers (SPEC §3.5: at the enterprise, by one of its agencies, within its
    /// visits widened by `scan_slack`).
    public var scannedOccasions = 0
    /// Scans made in the period that cover no occasion.
    public var scansWithoutVisit = 0
    public var alerts: [AlertKind: Int] = [:]

    public var plannedShare: Double? { occasions == 0 ? nil : Double(coveredOccasions) / Double(occasions) }
    public var jointShare: Double? { occasions == 0 ? nil : Double(jointOccasions) / Double(occasions) }
    public var scannedShare: Double? { occasions == 0 ? nil : Double(scannedOccasions) / Double(occasions) }
}

/// Occasions and alerts of one risk and credit class in a period (SPEC §4.5, §5); `riskClass`
/// nil: enterprises with none.
public struct ClassStatistics: Sendable, Equatable {
    public var riskClass: String?
    public var occasions = 0
    public var alerts: [AlertKind: Int] = [:]
}

extension Store {
    /// Figures for visits starting, and alerts raised, in [from, to); every agency with a visit or
    /// an alert then, or only `agencyId`; the total row first.
    public func statistics(from: Millis, to: Millis, agencyId: String? = nil, scanSlack: Millis = 7_200_000) throws -> [AgencyStatistics] {
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
            // Occasions a scan covers: the occasion's span over all its visits, the agencies whose
            // scan counts (its visits' and its task's lead and partners).
            let scannedSQL = """
                WITH occ AS (SELECT DISTINCT v.occasion_id AS o, %@ AS agency FROM visits v
                             WHERE v.start >= ? AND v.start < ? AND v.superseded_at IS NULL AND \(agencyClause)),
                     span AS (SELECT w.occasion_id AS o, w.enterprise_id AS e, min(w.start) AS first,
                                     max(coalesce(w."end", w.opened_at)) AS last, max(w.task_id) AS task
                              FROM visits w WHERE w.superseded_at IS NULL AND w.agency_id IS NOT NULL
                                AND w.occasion_id IN (SELECT o FROM occ) GROUP BY w.occasion_id)
                SELECT occ.agency AS agency, count(*) AS n FROM occ JOIN span ON span.o = occ.o
                WHERE EXISTS (SELECT 1 FROM scans s WHERE s.enterprise_id = span.e AND s.at >= span.first - ? AND s.at <= span.last + ?
                    AND (EXISTS (SELECT 1 FROM visits x WHERE x.occasion_id = span.o AND x.agency_id = s.agency_id AND x.superseded_at IS NULL)
                         OR EXISTS (SELECT 1 FROM tasks t WHERE t.task_id = span.task
                                    AND (t.agency_id = s.agency_id OR ';' || t.partner_agency_ids || ';' LIKE '%;' || s.agency_id || ';%'))))
                GROUP BY occ.agency
                """
            let scanArgs = StatementArguments(args) + [scanSlack, scanSlack]
            if let r = try Row.fetchOne(db, sql: scannedSQL.replacingOccurrences(of: "%@", with: "NULL"), arguments: scanArgs) {
                total.scannedOccasions = r["n"]
            }
            for r in try Row.fetchAll(db, sql: scannedSQL.replacingOccurrences(of: "%@", with: "v.agency_id"), arguments: scanArgs) {
                let a: String = r["agency"]
                rows[a]?.scannedOccasions = r["n"]
            }
            // Scans made in the period that cover no occasion, by agency.
            let scanClause = agencyId == nil ? "" : "AND s.agency_id = ?"
            var withoutArgs: [(any DatabaseValueConvertible)?] = [from, to]
            if let agencyId { withoutArgs.append(agencyId) }
            withoutArgs += [scanSlack, scanSlack]
            for r in try Row.fetchAll(db, sql: """
                SELECT s.agency_id AS agency, count(*) AS n FROM scans s WHERE s.at >= ? AND s.at < ? \(scanClause)
                AND NOT EXISTS (
                    SELECT 1 FROM (SELECT w.occasion_id AS o, min(w.start) AS first, max(coalesce(w."end", w.opened_at)) AS last, max(w.task_id) AS task
                                   FROM visits w WHERE w.enterprise_id = s.enterprise_id AND w.superseded_at IS NULL AND w.agency_id IS NOT NULL
                                   GROUP BY w.occasion_id) span
                    WHERE s.at >= span.first - ? AND s.at <= span.last + ?
                      AND (EXISTS (SELECT 1 FROM visits x WHERE x.occasion_id = span.o AND x.agency_id = s.agency_id AND x.superseded_at IS NULL)
                           OR EXISTS (SELECT 1 FROM tasks t WHERE t.task_id = span.task
                                      AND (t.agency_id = s.agency_id OR ';' || t.partner_agency_ids || ';' LIKE '%;' || s.agency_id || ';%'))))
                GROUP BY s.agency_id
                """, arguments: StatementArguments(withoutArgs)) {
                let a: String = r["agency"]
                let n: Int = r["n"]
                rows[a, default: AgencyStatistics(agencyId: a)].scansWithoutVisit = n
                total.scansWithoutVisit += n
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

extension Store {
    /// Occasions (of visits starting in [from, to)) and alerts (raised then, withdrawn ones not
    /// counted) by the enterprise's risk class (`classOf`, from the registry), or only `agencyId`'s.
    public func classStatistics(from: Millis, to: Millis, agencyId: String? = nil, classOf: [String: String]) throws -> [ClassStatistics] {
        try pool.read { db in
            var byClass: [String?: ClassStatistics] = [:]
            let agencyClause = agencyId == nil ? "agency_id IS NOT NULL" : "agency_id = ?"
            var args: [(any DatabaseValueConvertible)?] = [from, to]
            if let agencyId { args.append(agencyId) }
            for r in try Row.fetchAll(db, sql: """
                SELECT enterprise_id, count(DISTINCT occasion_id) AS n FROM visits
                WHERE start >= ? AND start < ? AND superseded_at IS NULL AND \(agencyClause) GROUP BY enterprise_id
                """, arguments: StatementArguments(args)) {
                let c = classOf[r["enterprise_id"] as String]
                byClass[c, default: ClassStatistics(riskClass: c)].occasions += r["n"] as Int
            }
            let alertClause = agencyId == nil ? "1" : "agency_id = ?"
            for r in try Row.fetchAll(db, sql: """
                SELECT enterprise_id, kind, count(*) AS n FROM alerts WHERE at >= ? AND at < ? AND status != 'withdrawn' AND \(alertClause)
                GROUP BY enterprise_id, kind
                """, arguments: StatementArguments(args)) {
                guard let kind = AlertKind(rawValue: r["kind"]) else { continue }
                let c = classOf[r["enterprise_id"] as String]
                byClass[c, default: ClassStatistics(riskClass: c)].alerts[kind, default: 0] += r["n"] as Int
            }
            return byClass.values.sorted { ($0.riskClass == nil) != ($1.riskClass == nil) ? $1.riskClass == nil : byteOrder($0.riskClass ?? "", $1.riskClass ?? "") }
        }
    }
}
