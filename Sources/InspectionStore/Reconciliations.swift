import GRDB
import InspectionCore

extension Store {
    /// An outbox row for an alert already published: the record goes out again with its status
    /// as it is when the row is sent (`StoredAlert.payload`).
    static func publishAgain(_ a: AlertRecord, topic: String, _ db: Database) throws {
        try db.cachedStatement(sql: "INSERT INTO outbox (alert_id, topic) VALUES (?, ?)").execute(arguments: [a.alertId, topic])
    }

    /// What late positions changed (SPEC §3.4), written as the engine said it: visits upserted
    /// whole (a visit superseded earlier and back again is current again), visits superseded
    /// (never deleted), other visits' task or occasion, alerts raised (or reopened, when they had
    /// been withdrawn), changed, withdrawn — each status change in the history by `engine` with
    /// `Reconciliation.reason`. Inserted alerts go to the outbox like any other.
    static func apply(_ r: Reconciliation, topic: (AlertRecord) -> String, inserted: inout [InsertedAlert], _ db: Database) throws {
        let at = r.at
        for v in r.visits {
            try db.cachedStatement(sql: """
                INSERT INTO visits (visit_id, vehicle_id, agency_id, site_id, enterprise_id, start, "end", points, task_id, occasion_id, opened_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(visit_id) DO UPDATE SET "end" = excluded."end", points = excluded.points, task_id = excluded.task_id,
                    occasion_id = excluded.occasion_id, opened_at = excluded.opened_at, superseded_by = NULL, superseded_at = NULL
                """).execute(arguments: [v.visitId, v.vehicleId, v.agencyId, v.siteId, v.enterpriseId, v.start, v.end, v.points,
                                 v.taskId, v.occasionId, v.openedAt])
        }
        for (id, by) in r.superseded {
            try db.cachedStatement(sql: "UPDATE visits SET superseded_by = ?, superseded_at = ? WHERE visit_id = ?")
                .execute(arguments: [by, at, id])
        }
        for (id, a) in r.assignments {
            try db.cachedStatement(sql: "UPDATE visits SET task_id = ?, occasion_id = ? WHERE visit_id = ?")
                .execute(arguments: [a.taskId, a.occasionId, id])
        }
        for a in r.raised + r.updated {
            let status = try String.fetchOne(db, sql: "SELECT status FROM alerts WHERE alert_id = ?", arguments: [a.alertId])
            if status == nil {
                // Raised at its own time by the engine, with the reason: the history says why.
                if try insertAlert(a, topic: topic(a), actor: "engine", note: r.note, at: at, db) {
                    inserted.append((db.lastInsertedRowID, a, topic(a)))
                }
                continue
            }
            try db.cachedStatement(sql: """
                UPDATE alerts SET at = ?, site_id = ?, agency_id = ?, vehicle_id = ?, visit_id = ?, task_id = ?, detail = ? WHERE alert_id = ?
                """).execute(arguments: [a.at, a.siteId, a.agencyId, a.vehicleId, a.visitId, a.taskId, a.detail.serialized, a.alertId])
            if status == AlertStatus.withdrawn.rawValue {
                try setStatus(a.alertId, .open, actor: "engine", note: r.note, at: at, db)
            }
            try publishAgain(a, topic: topic(a), db)  // reopened or changed: subscribers hear it
        }
        for a in r.withdrawn {
            let status = try String.fetchOne(db, sql: "SELECT status FROM alerts WHERE alert_id = ?", arguments: [a.alertId])
            guard let status, status != AlertStatus.withdrawn.rawValue else { continue }
            try setStatus(a.alertId, .withdrawn, actor: "engine", note: r.note, at: at, db)
            try publishAgain(a, topic: topic(a), db)
        }
    }
}
