import Foundation
import GRDB
import GRDBSQLite
import InspectionCore

/// A message as the daemon received it, kept before it is acknowledged to the broker.
public struct JournalEntry: Sendable, Equatable {
    public var seq: Int64
    public var receivedAt: Millis
    public var subscription: Int
    public var topic: String
    public var payload: [UInt8]

    public init(seq: Int64, receivedAt: Millis, subscription: Int, topic: String, payload: [UInt8]) {
        self.seq = seq; self.receivedAt = receivedAt; self.subscription = subscription; self.topic = topic; self.payload = payload
    }
}

/// An alert waiting to be published (or published).
public struct OutboxEntry: Sendable, Equatable {
    public var id: Int64
    public var alertId: String
    public var topic: String
    public var payload: [UInt8]
}

/// What one pass of the engine produced, written in one transaction.
public struct StoreBatch: Sendable {
    public var visits: [VisitRecord] = []
    /// Each with its MQTT topic and when the message that raised it was received (0: not from a
    /// message — a restore, a reload).
    public var alerts: [(record: AlertRecord, topic: String, receivedAt: Millis)] = []
    public var deadLetters: [(receivedAt: Millis, topic: String, reason: RejectReason, message: String, payload: [UInt8])] = []
    public var latePositions: [(vehicleId: String, ts: Millis, lat: Double, lon: Double, receivedAt: Millis)] = []
    /// What late positions (or a visit that opened out of order) changed, written after the rest
    /// of the batch, in order: what the engine said after each is part of it (`absorb`).
    public var reconciliations: [Reconciliation] = []
    /// The last journal entry this batch accounts for.
    public var processedSeq: Int64?
    /// Positions that make up visits (SPEC §5 evidence).
    public var evidence: [(visitId: String, fixes: [Fix])] = []
    /// Code scans received (SPEC §3.5), with where they came from (`mqtt`, `api`, `import`).
    public var scans: [(scan: Scan, source: String, receivedAt: Millis)] = []

    public init() {}
    public var isEmpty: Bool {
        visits.isEmpty && alerts.isEmpty && evidence.isEmpty && deadLetters.isEmpty && latePositions.isEmpty && reconciliations.isEmpty
            && scans.isEmpty && processedSeq == nil
    }
}

/// The embedded SQLite database (WAL): the engine's checkpoint, visits, alerts with their
/// status history, the alert outbox, dead letters and late positions. Migrations are named and
/// ordered, and never edited once released.
public final class Store: Sendable {
    public let path: String
    let pool: DatabasePool
    /// Dead letters kept at most (the oldest go first), each with at most
    /// `deadLetterPayloadPrefix` bytes of its payload: 100,000 of them hold at most ~400 MB.
    public let deadLetterLimit: Int
    public static let deadLetterPayloadPrefix = 4096
    /// Positions older than the late horizon kept for audit at most (the oldest go first).
    public let latePositionLimit: Int

    /// FNV-1a over the bytes, 16 hexadecimal digits: a dead letter's whole payload, named.
    static func digest(_ bytes: [UInt8]) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes { h ^= UInt64(b); h = h &* 0x100_0000_01b3 }
        let hex = String(h, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
    /// Where an alert a reconciliation raises is published (`<prefix>/<kind>/<enterprise>`).
    let alertTopicPrefix: String
    func alertTopic(_ a: AlertRecord) -> String { Self.alertTopic(prefix: alertTopicPrefix, a) }

    /// Where an alert is published (SPEC §5): `<prefix>/<kind>/<enterprise_id>`.
    public static func alertTopic(prefix: String, _ a: AlertRecord) -> String { "\(prefix)/\(a.kind.rawValue)/\(a.enterpriseId)" }

    /// WAL checkpoints off the committing thread (the daemon), nil: SQLite's own, in the commit.
    let walCheckpointer: WALCheckpointer?

    /// `readOnly`: for reading what the daemon wrote (`stats`): no migration, no write.
    /// `backgroundCheckpoints`: WAL checkpoints on a thread of their own, never in a commit
    /// (`WALCheckpointer`; the daemon, whose commits carry alert latency).
    public init(path: String, deadLetterLimit: Int = 100_000, latePositionLimit: Int = 1_000_000, readOnly: Bool = false,
                backgroundCheckpoints: Bool = false, alertTopicPrefix: String = "alerts") throws {
        self.path = path
        self.latePositionLimit = latePositionLimit
        self.alertTopicPrefix = alertTopicPrefix
        self.deadLetterLimit = deadLetterLimit
        let checkpointer = backgroundCheckpoints && !readOnly ? WALCheckpointer(path: path) : nil
        walCheckpointer = checkpointer
        var config = Configuration()
        config.readonly = readOnly
        // Locked (another writer, a FULL checkpoint's tail): tried again every 0.25 ms for the
        // first 50 ms — a tail takes a few — then every 10 ms, 5 s in all. (SQLite's own timeout
        // sleeps 1, 2, 5, 10 … ms: a 1 ms wait would cost 8.)
        config.busyMode = .callback { tries in usleep(tries < 200 ? 250 : 10_000); return tries < 200 + 495 }
        config.prepareDatabase { db in
            if let checkpointer, !db.configuration.readonly { checkpointer.install(on: db) }
            if !readOnly {
                try db.execute(sql: "PRAGMA synchronous = NORMAL")  // WAL: durable against a crash of the process
                // A WAL that a large transaction (an import) grew is cut back to 32 MiB when it
                // starts again from its beginning (it is otherwise never shortened).
                try db.execute(sql: "PRAGMA journal_size_limit = 33554432")
            }
            // 32 MiB of pages kept: the visits' positions grow into a table whose inserts read
            // pages back (a pread each) with SQLite's 2 MiB default.
            try db.execute(sql: "PRAGMA cache_size = -32768")
        }
        pool = try DatabasePool(path: path, configuration: config)
        if readOnly { return }
        try Self.migrator.migrate(pool)
        // SQLite opens a file it cannot write read-only without a word: write once, so that a
        // read-only store is an error here and not at the first commit.
        try pool.write { db in
            try db.execute(sql: "INSERT INTO state (key, value) VALUES ('opened_at', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                           arguments: [Millis(Date().timeIntervalSince1970 * 1000)])
        }
    }

    deinit {
        guard let walCheckpointer else { return }
        // The hook points at the checkpointer: gone from the connection before it is.
        try? pool.writeWithoutTransaction { db in _ = sqlite3_wal_hook(db.sqliteConnection, nil, nil) }
        walCheckpointer.stop()
    }

    /// Ends the background checkpoints' thread (after the one running, if any); commits from
    /// then on leave the WAL to grow until the store is opened again. At a stop, once the writer
    /// is done.
    public func stopWALCheckpoints() { walCheckpointer?.stop() }

    /// The background checkpoints so far (nil without them).
    public var walCheckpoints: WALCheckpoints? { walCheckpointer?.state }

    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1: journal, visits, alerts, outbox") { db in
            try db.execute(sql: """
                CREATE TABLE journal (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    received_at INTEGER NOT NULL,
                    subscription INTEGER NOT NULL,
                    topic TEXT NOT NULL,
                    payload BLOB NOT NULL);
                CREATE TABLE state (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
                CREATE TABLE visits (
                    visit_id TEXT PRIMARY KEY,
                    vehicle_id TEXT NOT NULL, agency_id TEXT, site_id TEXT NOT NULL, enterprise_id TEXT NOT NULL,
                    start INTEGER NOT NULL, "end" INTEGER, points INTEGER NOT NULL,
                    task_id TEXT, occasion_id TEXT NOT NULL, opened_at INTEGER NOT NULL);
                CREATE INDEX visits_by_start ON visits(start);
                CREATE TABLE alerts (
                    alert_id TEXT PRIMARY KEY,
                    kind TEXT NOT NULL, severity TEXT NOT NULL, at INTEGER NOT NULL,
                    enterprise_id TEXT NOT NULL, site_id TEXT NOT NULL, agency_id TEXT, vehicle_id TEXT NOT NULL,
                    visit_id TEXT, task_id TEXT, detail TEXT NOT NULL,
                    status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'acknowledged', 'resolved', 'dismissed')));
                CREATE INDEX alerts_by_at ON alerts(at);
                CREATE TABLE alert_status (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    alert_id TEXT NOT NULL REFERENCES alerts(alert_id),
                    at INTEGER NOT NULL, status TEXT NOT NULL, actor TEXT NOT NULL, note TEXT);
                CREATE TABLE outbox (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    alert_id TEXT NOT NULL UNIQUE REFERENCES alerts(alert_id),
                    topic TEXT NOT NULL, payload BLOB NOT NULL, published_at INTEGER);
                CREATE INDEX outbox_unpublished ON outbox(id) WHERE published_at IS NULL;
                CREATE TABLE dead_letters (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    received_at INTEGER NOT NULL, topic TEXT NOT NULL, reason TEXT NOT NULL, message TEXT NOT NULL,
                    payload BLOB NOT NULL);
                CREATE TABLE late_positions (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    vehicle_id TEXT NOT NULL, ts INTEGER NOT NULL, lat REAL NOT NULL, lon REAL NOT NULL,
                    received_at INTEGER NOT NULL);
                """)
        }
        m.registerMigration("v2: journal in files, engine checkpoint") { db in
            try db.execute(sql: """
                DROP TABLE journal;
                CREATE TABLE checkpoint (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    seq INTEGER NOT NULL, saved_at INTEGER NOT NULL, state BLOB NOT NULL);
                """)
        }
        m.registerMigration("v3: visit evidence") { db in
            try db.execute(sql: """
                CREATE TABLE visit_positions (
                    visit_id TEXT NOT NULL, ts INTEGER NOT NULL, lat REAL NOT NULL, lon REAL NOT NULL,
                    PRIMARY KEY (visit_id, ts)) WITHOUT ROWID;
                """)
        }
        m.registerMigration("v4: registry and tasks") { db in
            try db.execute(sql: """
                CREATE TABLE registry_files (name TEXT PRIMARY KEY, bytes BLOB NOT NULL, imported_at INTEGER NOT NULL);
                CREATE TABLE tasks (
                    task_id TEXT PRIMARY KEY, agency_id TEXT NOT NULL, partner_agency_ids TEXT NOT NULL,
                    enterprise_id TEXT NOT NULL, site_id TEXT, kind TEXT NOT NULL,
                    start INTEGER NOT NULL, "end" INTEGER NOT NULL, announced_at INTEGER,
                    cross_region INTEGER NOT NULL, status TEXT NOT NULL,
                    source TEXT NOT NULL CHECK (source IN ('file', 'api')), updated_at INTEGER NOT NULL, updated_by TEXT NOT NULL);
                CREATE INDEX tasks_by_enterprise ON tasks(enterprise_id);
                """)
        }
        m.registerMigration("v5: alert status withdrawn, lookups by enterprise and agency") { db in
            // SQLite cannot change a CHECK constraint: the table is rebuilt (its references are by name).
            try db.execute(sql: """
                CREATE TABLE alerts_new (
                    alert_id TEXT PRIMARY KEY,
                    kind TEXT NOT NULL, severity TEXT NOT NULL, at INTEGER NOT NULL,
                    enterprise_id TEXT NOT NULL, site_id TEXT NOT NULL, agency_id TEXT, vehicle_id TEXT NOT NULL,
                    visit_id TEXT, task_id TEXT, detail TEXT NOT NULL,
                    status TEXT NOT NULL DEFAULT 'open'
                        CHECK (status IN ('open', 'acknowledged', 'resolved', 'dismissed', 'withdrawn')));
                INSERT INTO alerts_new SELECT * FROM alerts;
                DROP TABLE alerts;
                ALTER TABLE alerts_new RENAME TO alerts;
                CREATE INDEX alerts_by_at ON alerts(at);
                CREATE INDEX alerts_by_enterprise ON alerts(enterprise_id);
                CREATE INDEX alerts_by_agency ON alerts(agency_id, at);
                CREATE INDEX alert_status_by_alert ON alert_status(alert_id, id);
                CREATE INDEX visits_by_enterprise ON visits(enterprise_id);
                CREATE INDEX visits_by_agency ON visits(agency_id, start);
                """)
        }
        m.registerMigration("v6: outbox rows without the payload") { db in
            // The payload is the alert's record, rebuilt from its row when it is published: a
            // copy of 2–3 KB an alert (one 4 KB page each, written again when marked published)
            // and the unique index on alert_id were a quarter of the WAL's pages under an alert
            // burst (docs/performance.md).
            // The index is not needed: an alert's row is inserted once (`insertAlert`), and its
            // outbox row with it.
            try db.execute(sql: """
                CREATE TABLE outbox_new (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    alert_id TEXT NOT NULL REFERENCES alerts(alert_id),
                    topic TEXT NOT NULL, published_at INTEGER);
                INSERT INTO outbox_new (id, alert_id, topic, published_at) SELECT id, alert_id, topic, published_at FROM outbox;
                DROP TABLE outbox;
                ALTER TABLE outbox_new RENAME TO outbox;
                CREATE INDEX outbox_unpublished ON outbox(id) WHERE published_at IS NULL;
                """)
        }
        m.registerMigration("v7: visits superseded by late positions") { db in
            // SPEC §3.4: a visit that late positions change is never deleted; it is marked with
            // the visit that replaces it (or none) and when.
            try db.execute(sql: """
                ALTER TABLE visits ADD COLUMN superseded_by TEXT;
                ALTER TABLE visits ADD COLUMN superseded_at INTEGER;
                """)
        }
        m.registerMigration("v8: kept fixes' full chunks apart from the checkpoint") { db in
            // A full chunk of a vehicle's kept fixes (late positions, SPEC §3.4) never changes: it
            // is written once under its id (a digest of it), the checkpoint naming it.
            try db.execute(sql: "CREATE TABLE history_chunks (id INTEGER PRIMARY KEY, data BLOB NOT NULL)")
        }
        m.registerMigration("v9: dead letters keep a prefix of the payload") { db in
            // The whole payload's length and digest beside the prefix kept (NULL: kept whole).
            try db.execute(sql: """
                ALTER TABLE dead_letters ADD COLUMN payload_length INTEGER;
                ALTER TABLE dead_letters ADD COLUMN payload_digest TEXT;
                """)
        }
        m.registerMigration("v10: code scans") { db in
            // SPEC §3.5: the first of a scan_id stands; where each came from and when.
            try db.execute(sql: """
                CREATE TABLE scans (
                    scan_id TEXT PRIMARY KEY, enterprise_id TEXT NOT NULL, agency_id TEXT NOT NULL, task_id TEXT,
                    at INTEGER NOT NULL, source TEXT NOT NULL, received_at INTEGER NOT NULL);
                CREATE INDEX scans_by_enterprise ON scans(enterprise_id, at);
                CREATE INDEX scans_by_at ON scans(at);
                """)
        }
        m.registerMigration("v11: visits by occasion") { db in
            // An occasion's visits together: its span for the scan rate (亮码检查率).
            try db.execute(sql: "CREATE INDEX visits_by_occasion ON visits(occasion_id)")
        }
        m.registerMigration("v12: a late position stored once") { db in
            // The same fix brought again — the journal after a kill, a retained message on every
            // subscribe — is the same fact: the first arrival stands.
            try db.execute(sql: """
                DELETE FROM late_positions WHERE id NOT IN (SELECT min(id) FROM late_positions GROUP BY vehicle_id, ts, lat, lon);
                CREATE UNIQUE INDEX late_positions_once ON late_positions(vehicle_id, ts, lat, lon);
                """)
        }
        return m
    }

    // MARK: registry

    /// The registry files that `import` takes whole (sites, agencies, vehicles).
    public static let registryFiles = ["sites.geojson", "agencies.csv", "vehicles.csv"]

    /// Takes a registry in one transaction: the three files replace the stored ones; the tasks of
    /// the tasks file replace those an earlier file gave (tasks registered through the API stay,
    /// unless the file names the same `task_id`).
    public func importRegistry(files: [String: [UInt8]], tasks: [InspectionTask], actor: String, at: Millis) throws {
        try pool.write { db in
            for name in Self.registryFiles {
                guard let bytes = files[name] else { continue }
                try db.execute(sql: """
                    INSERT INTO registry_files (name, bytes, imported_at) VALUES (?, ?, ?)
                    ON CONFLICT(name) DO UPDATE SET bytes = excluded.bytes, imported_at = excluded.imported_at
                    """, arguments: [name, Data(bytes), at])
            }
            try db.execute(sql: "DELETE FROM tasks WHERE source = 'file'")
            for t in tasks { try Self.upsert(t, source: "file", actor: actor, at: at, db) }
        }
    }

    static func upsert(_ t: InspectionTask, source: String, actor: String, at: Millis, _ db: Database) throws {
        try db.cachedStatement(sql: """
            INSERT INTO tasks (task_id, agency_id, partner_agency_ids, enterprise_id, site_id, kind, start, "end",
                               announced_at, cross_region, status, source, updated_at, updated_by)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(task_id) DO UPDATE SET agency_id = excluded.agency_id, partner_agency_ids = excluded.partner_agency_ids,
                enterprise_id = excluded.enterprise_id, site_id = excluded.site_id, kind = excluded.kind, start = excluded.start,
                "end" = excluded."end", announced_at = excluded.announced_at, cross_region = excluded.cross_region,
                status = excluded.status, source = excluded.source, updated_at = excluded.updated_at, updated_by = excluded.updated_by
            """).execute(arguments: [t.id, t.agencyId, t.partnerAgencyIds.joined(separator: ";"), t.enterpriseId, t.siteId, t.kind.rawValue,
                             t.start, t.end, t.announcedAt, t.crossRegion, t.status.rawValue, source, at, actor])
    }

    /// When the registry files were last imported (nil before the first import).
    public func registryImportedAt() async throws -> Millis? {
        try await pool.read { db in try Millis.fetchOne(db, sql: "SELECT max(imported_at) FROM registry_files") }
    }

    /// The stored registry files, or nil before the first import.
    public func storedRegistryFiles() throws -> [String: [UInt8]]? {
        let rows = try pool.read { db in try Row.fetchAll(db, sql: "SELECT name, bytes FROM registry_files") }
        guard !rows.isEmpty else { return nil }
        return Dictionary(uniqueKeysWithValues: rows.map { ($0["name"] as String, [UInt8]($0["bytes"] as Data)) })
    }

    // MARK: checkpoint

    /// Saves the engine's state after journal entry `seq` (whose outputs are already committed).
    public func saveCheckpoint(seq: Int64, state: Data) throws {
        try pool.write { db in
            try db.execute(sql: """
                INSERT INTO checkpoint (id, seq, saved_at, state) VALUES (1, ?, ?, ?)
                ON CONFLICT(id) DO UPDATE SET seq = excluded.seq, saved_at = excluded.saved_at, state = excluded.state
                """, arguments: [seq, Millis(Date().timeIntervalSince1970 * 1000), state])
        }
    }

    /// Saves the engine's state after journal entry `seq` with the chunks of kept fixes it names
    /// that are not stored yet (`chunks`), and drops those it no longer names (`drop`), in one
    /// transaction. Chunk ids are UInt64 digests, stored as the Int64 of the same bits.
    public func saveCheckpoint(seq: Int64, state: Data, chunks: [(id: UInt64, data: Data)], drop: [UInt64]) throws {
        try pool.write { db in
            let insert = try db.cachedStatement(sql: "INSERT OR REPLACE INTO history_chunks (id, data) VALUES (?, ?)")
            for c in chunks { try insert.execute(arguments: [Int64(bitPattern: c.id), c.data]) }
            let delete = try db.cachedStatement(sql: "DELETE FROM history_chunks WHERE id = ?")
            for id in drop { try delete.execute(arguments: [Int64(bitPattern: id)]) }
            try db.execute(sql: """
                INSERT INTO checkpoint (id, seq, saved_at, state) VALUES (1, ?, ?, ?)
                ON CONFLICT(id) DO UPDATE SET seq = excluded.seq, saved_at = excluded.saved_at, state = excluded.state
                """, arguments: [seq, Millis(Date().timeIntervalSince1970 * 1000), state])
        }
    }

    /// The ids of the chunks of kept fixes stored.
    public func historyChunkIds() throws -> Set<UInt64> {
        try pool.read { db in Set(try Int64.fetchAll(db, sql: "SELECT id FROM history_chunks").map { UInt64(bitPattern: $0) }) }
    }

    /// Every chunk of kept fixes stored, by id.
    public func historyChunks() throws -> [UInt64: Data] {
        try pool.read { db in
            var out: [UInt64: Data] = [:]
            for r in try Row.fetchAll(db, sql: "SELECT id, data FROM history_chunks") {
                out[UInt64(bitPattern: r["id"] as Int64)] = r["data"]
            }
            return out
        }
    }

    /// The engine's last saved state and the journal sequence number it covers.
    public func checkpoint() throws -> (seq: Int64, state: Data)? {
        try pool.read { db in
            try Row.fetchOne(db, sql: "SELECT seq, state FROM checkpoint WHERE id = 1").map { ($0["seq"], $0["state"]) }
        }
    }

    // MARK: engine output

    /// Writes a batch in one transaction. Visits are upserted (an open visit later closes),
    /// alerts and their outbox rows are inserted once: the same alert id again is ignored, so
    /// processing the journal again after a restart doubles nothing.
    @discardableResult
    public func commit(_ b: StoreBatch) throws -> [OutboxEntry] { try commit([b]) }

    /// Writes batches in order, in one transaction (a group commit: a writer that fell behind
    /// catches up with fewer, larger transactions). Returns the outbox rows of the alerts it
    /// inserted, in id order, as `unpublished` would read them back.
    @discardableResult
    public func commit(_ batches: [StoreBatch]) throws -> [OutboxEntry] {
        guard batches.contains(where: { !$0.isEmpty }) else { return [] }
        return try writeReturningOutbox { db, inserted in
            for b in batches where !b.isEmpty {
                try Self.write(b, deadLetterLimit: deadLetterLimit, latePositionLimit: latePositionLimit, topic: alertTopic, alerts: &inserted, db)
            }
        }
    }

    /// The alerts of `batches` (with their status and outbox rows), in a transaction of their own:
    /// the first step of a commit in two, so that a burst's alerts reach the outbox — and the
    /// broker — without waiting for its visits and their evidence, several times the rows. The
    /// second step commits the batches without their alerts. A crash between the two loses
    /// nothing: the journal is processed again from the last processed sequence (written by the
    /// second step), the alerts come again with the same ids and are not inserted twice.
    @discardableResult
    public func commitAlerts(_ batches: [StoreBatch]) throws -> [OutboxEntry] {
        guard batches.contains(where: { !$0.alerts.isEmpty }) else { return [] }
        return try writeReturningOutbox { db, inserted in
            for b in batches { try Self.insertAlerts(of: b, into: &inserted, db) }
        }
    }

    /// An alert `insertAlerts` inserted, with its outbox row's id and topic.
    typealias InsertedAlert = (outboxId: Int64, alert: AlertRecord, topic: String)

    /// One transaction of `body`, which notes the alerts it inserts; their outbox rows as
    /// `unpublished` reads them, built from the records in memory after the commit (the payload
    /// is the record's JSON, as the stored row gives it back).
    private func writeReturningOutbox(_ body: (Database, inout [InsertedAlert]) throws -> Void) throws -> [OutboxEntry] {
        let inserted = try pool.write { db in
            var inserted: [InsertedAlert] = []
            try body(db, &inserted)
            return inserted
        }
        return inserted.map { OutboxEntry(id: $0.outboxId, alertId: $0.alert.alertId, topic: $0.topic, payload: $0.alert.json.bytes) }
    }

    /// A batch's alerts, raised by the engine (with their status and outbox rows); those inserted
    /// (not there already: a journal processed again) with their outbox row's id.
    private static func insertAlerts(of b: StoreBatch, into inserted: inout [InsertedAlert], _ db: Database) throws {
        for (a, topic, _) in b.alerts {
            if try Self.insertAlert(a, topic: topic, actor: "engine", note: nil, at: a.at, db) {
                inserted.append((db.lastInsertedRowID, a, topic))  // the outbox row, inserted last
            }
        }
    }

    private static func write(_ b: StoreBatch, deadLetterLimit: Int, latePositionLimit: Int, topic: (AlertRecord) -> String,
                              alerts inserted: inout [InsertedAlert], _ db: Database) throws {
        for v in b.visits {
            try db.cachedStatement(sql: """
                INSERT INTO visits (visit_id, vehicle_id, agency_id, site_id, enterprise_id, start, "end", points, task_id, occasion_id, opened_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(visit_id) DO UPDATE SET "end" = excluded."end", points = excluded.points
                """).execute(arguments: [v.visitId, v.vehicleId, v.agencyId, v.siteId, v.enterpriseId, v.start, v.end, v.points,
                                 v.taskId, v.occasionId, v.openedAt])
        }
        try insertAlerts(of: b, into: &inserted, db)
        if !b.evidence.isEmpty {
            // Idempotent: the journal after a checkpoint may be processed again after a restart.
            // The most numerous rows: bound with SQLite's own calls (GRDB's per-row argument arrays
            // and bindings showed in the store thread's profile).
            let st = try db.cachedStatement(sql: "INSERT OR IGNORE INTO visit_positions (visit_id, ts, lat, lon) VALUES (?, ?, ?, ?)")
            let h = st.sqliteStatement
            for (visitId, fixes) in b.evidence {
                var id = visitId
                try id.withUTF8 { vid in
                    defer { sqlite3_clear_bindings(h) }  // `vid` is only valid in here
                    try vid.withMemoryRebound(to: CChar.self) { v in
                        for f in fixes {
                            sqlite3_bind_text(h, 1, v.baseAddress, Int32(v.count), nil)  // SQLITE_STATIC: kept until the step is done
                            sqlite3_bind_int64(h, 2, f.ts)
                            sqlite3_bind_double(h, 3, f.lat)
                            sqlite3_bind_double(h, 4, f.lon)
                            let rc = sqlite3_step(h)
                            sqlite3_reset(h)
                            guard rc == SQLITE_DONE else {
                                throw DatabaseError(resultCode: ResultCode(rawValue: rc), message: String(cString: sqlite3_errmsg(db.sqliteConnection)),
                                                    sql: st.sql)
                            }
                        }
                    }
                }
            }
        }
        for d in b.deadLetters {
            // At most a prefix of the payload, with its whole length and a digest: 20 payloads of
            // 5 MB took 106 MB, and the row limit alone allowed hundreds of GB.
            let kept = d.payload.prefix(Self.deadLetterPayloadPrefix)
            try db.cachedStatement(sql: """
                INSERT INTO dead_letters (received_at, topic, reason, message, payload, payload_length, payload_digest)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """).execute(arguments: [d.receivedAt, d.topic, d.reason.rawValue, d.message, Data(kept), d.payload.count,
                                         Self.digest(d.payload)])
        }
        if !b.deadLetters.isEmpty {
            try db.execute(sql: "DELETE FROM dead_letters WHERE id <= (SELECT max(id) FROM dead_letters) - ?",
                           arguments: [deadLetterLimit])
        }
        for l in b.latePositions {
            try db.cachedStatement(sql: "INSERT OR IGNORE INTO late_positions (vehicle_id, ts, lat, lon, received_at) VALUES (?, ?, ?, ?, ?)")
                .execute(arguments: [l.vehicleId, l.ts, l.lat, l.lon, l.receivedAt])
        }
        if !b.latePositions.isEmpty {
            try db.execute(sql: "DELETE FROM late_positions WHERE id <= (SELECT max(id) FROM late_positions) - ?",
                           arguments: [latePositionLimit])
        }
        for (scan, source, receivedAt) in b.scans {
            // The first of a scan_id stands (a duplicate, or a journal processed again, is a no-op).
            try db.cachedStatement(sql: """
                INSERT OR IGNORE INTO scans (scan_id, enterprise_id, agency_id, task_id, at, source, received_at) VALUES (?, ?, ?, ?, ?, ?, ?)
                """).execute(arguments: [scan.scanId, scan.enterpriseId, scan.agencyId, scan.taskId, scan.at, source, receivedAt])
        }
        for r in b.reconciliations { try apply(r, topic: topic, inserted: &inserted, db) }
        if let seq = b.processedSeq {
            try db.cachedStatement(sql: "INSERT INTO state (key, value) VALUES ('processed_seq', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value")
                .execute(arguments: [seq])
        }
    }

    public func processedSeq() throws -> Int64 {
        try pool.read { db in try Int64.fetchOne(db, sql: "SELECT value FROM state WHERE key = 'processed_seq'") ?? 0 }
    }

    // MARK: outbox

    /// Outbox rows not yet marked published, in id order, from the one after `after`.
    public func unpublished(after: Int64 = 0, limit: Int = 1000) throws -> [OutboxEntry] {
        try pool.read { db in
            // The payload is the alert's record, its stored detail written as it is.
            try Row.fetchAll(db, sql: """
                SELECT outbox.id AS outbox_id, outbox.topic AS outbox_topic, alerts.* FROM outbox JOIN alerts USING (alert_id)
                WHERE outbox.published_at IS NULL AND outbox.id > ? ORDER BY outbox.id LIMIT ?
                """, arguments: [after, limit]).map { r in
                let alert = Self.alert(r)
                return OutboxEntry(id: r["outbox_id"], alertId: alert.record.alertId, topic: r["outbox_topic"], payload: alert.payload.bytes)
            }
        }
    }

    public func unpublishedCount() throws -> Int {
        try pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM outbox WHERE published_at IS NULL") ?? 0 }
    }

    public func markPublished(_ ids: [Int64], at: Millis) throws {
        guard !ids.isEmpty else { return }
        try pool.write { db in
            let st = try db.cachedStatement(sql: "UPDATE outbox SET published_at = ? WHERE id = ?")
            for id in ids { try st.execute(arguments: [at, id]) }
        }
    }

    // MARK: reading

    public func visits() throws -> [VisitRecord] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM visits WHERE superseded_at IS NULL ORDER BY start, visit_id").map { r in
                VisitRecord(visitId: r["visit_id"], vehicleId: r["vehicle_id"], agencyId: r["agency_id"], siteId: r["site_id"],
                            enterpriseId: r["enterprise_id"], start: r["start"], end: r["end"], points: r["points"],
                            taskId: r["task_id"], occasionId: r["occasion_id"], openedAt: r["opened_at"])
            }
        }
    }

    /// Alerts not withdrawn as (id, kind, at), time then id order.
    public func alertKeys() throws -> [(alertId: String, kind: String, at: Millis)] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT alert_id, kind, at FROM alerts WHERE status != 'withdrawn' ORDER BY at, alert_id")
                .map { ($0["alert_id"], $0["kind"], $0["at"]) }
        }
    }

    /// Alerts not withdrawn, whole, time then id order: what the office is told now.
    public func currentAlerts() throws -> [AlertRecord] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM alerts WHERE status != 'withdrawn' ORDER BY at, alert_id").map { Self.alert($0).record }
        }
    }

    /// Visits superseded by late positions, with the visit that replaced each.
    public func supersededVisits() throws -> [(visitId: String, by: String?)] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT visit_id, superseded_by FROM visits WHERE superseded_at IS NOT NULL ORDER BY visit_id")
                .map { ($0["visit_id"], $0["superseded_by"]) }
        }
    }

    /// Every stored scan, by time then id.
    public func scans() throws -> [(scan: Scan, source: String)] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT scan_id, enterprise_id, agency_id, task_id, at, source FROM scans ORDER BY at, scan_id").map {
                (Scan(scanId: $0["scan_id"], enterpriseId: $0["enterprise_id"], agencyId: $0["agency_id"], taskId: $0["task_id"], at: $0["at"]),
                 $0["source"])
            }
        }
    }

    /// Alerts no one has acknowledged, resolved or dismissed yet.
    public func openAlertCount() throws -> Int {
        try pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM alerts WHERE status = 'open'") ?? 0 }
    }

    /// Alerts raised at or after `since` (today's, from local midnight).
    public func alertCount(since: Millis) throws -> Int {
        try pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM alerts WHERE at >= ?", arguments: [since]) ?? 0 }
    }

    public func count(_ table: String) throws -> Int {
        precondition(["visits", "visit_positions", "tasks", "registry_files", "alerts", "outbox", "dead_letters", "late_positions", "alert_status",
                      "scans"].contains(table))
        return try pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table)") ?? 0 }
    }
}
