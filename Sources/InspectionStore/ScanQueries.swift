import GRDB
import InspectionCore

/// The scans list's narrowing (SPEC §3.5): agency, enterprise, task, a time range.
public struct ScanFilter: Sendable {
    public var agencyId: String?
    public var enterpriseId: String?
    public var taskId: String?
    public var from: Millis?
    public var to: Millis?
    public var limit = 100
    public var offset = 0
    public init() {}
}

/// A scan as stored: where it came from and when it was received.
public struct StoredScan: Sendable, Equatable {
    public var scan: Scan
    public var source: String
    public var receivedAt: Millis
}

extension Store {
    static func storedScan(_ r: Row) -> StoredScan {
        StoredScan(scan: Scan(scanId: r["scan_id"], enterpriseId: r["enterprise_id"], agencyId: r["agency_id"], taskId: r["task_id"], at: r["at"]),
                   source: r["source"], receivedAt: r["received_at"])
    }

    /// Scans newest first, and how many match in all.
    public func scans(_ f: ScanFilter) async throws -> (items: [StoredScan], total: Int) {
        var c = Conditions()
        c.equal("agency_id", f.agencyId)
        c.equal("enterprise_id", f.enterpriseId)
        c.equal("task_id", f.taskId)
        if let from = f.from { c.add("at >= ?", [from]) }
        if let to = f.to { c.add("at < ?", [to]) }
        return try await page("scans", c, order: "at DESC, scan_id DESC", limit: f.limit, offset: f.offset, Self.storedScan)
    }

    /// One stored scan by id.
    public func scan(id: String) async throws -> StoredScan? {
        try await pool.read { db in try Row.fetchOne(db, sql: "SELECT * FROM scans WHERE scan_id = ?", arguments: [id]).map(Self.storedScan) }
    }
}

extension Store {
    /// Scans from a file (`inspection-watch import --scans`), source `import`, in one transaction:
    /// how many were new, the same as one stored, or different from the one holding their id.
    public func importScans(_ scans: [Scan], at: Millis) throws -> (inserted: Int, duplicates: Int, conflicts: Int) {
        try pool.write { db in
            var r = (inserted: 0, duplicates: 0, conflicts: 0)
            for s in scans {
                if let old = try Row.fetchOne(db, sql: "SELECT * FROM scans WHERE scan_id = ?", arguments: [s.scanId]).map(Self.storedScan) {
                    if old.scan == s { r.duplicates += 1 } else { r.conflicts += 1 }
                    continue
                }
                try db.execute(sql: """
                    INSERT INTO scans (scan_id, enterprise_id, agency_id, task_id, at, source, received_at) VALUES (?, ?, ?, ?, ?, 'import', ?)
                    """, arguments: [s.scanId, s.enterpriseId, s.agencyId, s.taskId, s.at, at])
                r.inserted += 1
            }
            return r
        }
    }

    /// Imported scans stored after row `after` (the daemon's cursor), in row order.
    public func importedScans(after: Int64, limit: Int = 10_000) throws -> [(row: Int64, scan: Scan)] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT rowid AS r, * FROM scans WHERE source = 'import' AND rowid > ? ORDER BY rowid LIMIT ?",
                             arguments: [after, limit]).map { ($0["r"], Self.storedScan($0).scan) }
        }
    }
}
