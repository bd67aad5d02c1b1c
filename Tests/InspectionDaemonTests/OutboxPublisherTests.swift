import Foundation
@testable import InspectionDaemon
import InspectionCore
import InspectionMQTT
@testable import InspectionStore
import GRDB
import Logging
import Testing

/// The outbox on a real SQLite file: every alert committed is handed to the broker once, rows in
/// flight are not handed over again however often the outbox is read, a row the broker could not
/// take is tried again, and what the broker acknowledged is marked published.
@Suite struct OutboxPublisherTests {
    static func batch(_ ids: ClosedRange<Int>) -> StoreBatch {
        var b = StoreBatch()
        for i in ids {
            let a = AlertRecord(alertId: "a-\(i)", kind: .unregisteredVisit, severity: .high, at: Millis(1_750_000_000_000 + i),
                                enterpriseId: "E\(i)", siteId: "S\(i)", agencyId: "A1", vehicleId: "V1", visitId: "v-\(i)",
                                taskId: nil, detail: .object([]))
            b.alerts.append((a, "alerts/unregistered_visit/E\(i)", 0))
        }
        return b
    }

    /// Hands rows to the "broker": records their alert ids, gives out message ids, refuses while
    /// `refuse` is set.
    final class Broker {
        var handed: [String] = []
        var refuse = false
        var nextMid: Int32 = 0
        var mids: [String: Int32] = [:]
        func send(_ e: OutboxEntry) throws(MQTTError) -> Int32 {
            if refuse { throw MQTTError(operation: "publish", code: 4) }
            handed.append(e.alertId)
            nextMid += 1
            mids[e.alertId] = nextMid
            return nextMid
        }
    }

    /// A fresh store (a real SQLite file), its publisher, and a broker that records what it is handed.
    static func fresh() throws -> (store: Store, outbox: OutboxPublisher, broker: Broker, cleanUp: () -> Void) {
        let (store, cleanUp) = try StoreWriterTests.freshStore()
        return (store, OutboxPublisher(store: store, faults: Faults(logger: Logger(label: "test"))), Broker(), cleanUp)
    }

    @Test func eachRowIsHandedOverOnceAndMarkedWhenAcknowledged() throws {
        let (store, outbox, broker, cleanUp) = try Self.fresh()
        defer { cleanUp() }
        try store.commit(Self.batch(1...3))
        outbox.publish(send: broker.send)
        #expect(broker.handed == ["a-1", "a-2", "a-3"])
        // In flight (no PUBACK yet): read again after every commit, never handed over twice.
        try store.commit(Self.batch(4...5))
        outbox.publish(send: broker.send)
        outbox.publish(send: broker.send)
        #expect(broker.handed == ["a-1", "a-2", "a-3", "a-4", "a-5"])
        #expect(outbox.handedThrough == 5)
        #expect(try store.unpublished().count == 5)
        // Acknowledged: marked published once the call has handed over what is new. a-6 is
        // acknowledged before `send` returns its message id, as libmosquitto may do.
        for id in ["a-1", "a-2", "a-4"] { outbox.acknowledged(broker.mids[id]!) }
        try store.commit(Self.batch(6...6))
        outbox.publish { e throws(MQTTError) in
            let mid = try broker.send(e)
            outbox.acknowledged(mid)
            return mid
        }
        #expect(try store.unpublished().map(\.alertId) == ["a-3", "a-5"])
        outbox.publish(send: broker.send)  // nothing new, nothing acknowledged
        #expect(try store.unpublished().map(\.alertId) == ["a-3", "a-5"])
        #expect(broker.handed == ["a-1", "a-2", "a-3", "a-4", "a-5", "a-6"])
        for id in ["a-3", "a-5"] { outbox.acknowledged(broker.mids[id]!) }
        outbox.publish(send: broker.send)
        #expect(try store.unpublished().isEmpty)
        #expect(try store.unpublishedCount() == 0)
        #expect(broker.handed.count == 6)
    }

    @Test func aRowTheBrokerCouldNotTakeIsTriedAgain() throws {
        let (store, outbox, broker, cleanUp) = try Self.fresh()
        defer { cleanUp() }
        try store.commit(Self.batch(1...2))
        outbox.publish(send: broker.send)
        broker.refuse = true  // disconnected
        try store.commit(Self.batch(3...4))
        outbox.publish(send: broker.send)
        #expect(broker.handed == ["a-1", "a-2"])
        #expect(outbox.handedThrough == 2)
        broker.refuse = false
        try store.commit(Self.batch(5...5))
        outbox.publish(send: broker.send)
        #expect(broker.handed == ["a-1", "a-2", "a-3", "a-4", "a-5"])
        for id in broker.handed { outbox.acknowledged(broker.mids[id]!) }
        outbox.publish(send: broker.send)
        #expect(try store.unpublished().isEmpty)
        #expect(broker.handed.count == 5)
    }

    /// A commit gives back the outbox rows of the alerts it inserted, byte for byte as the outbox
    /// reads them; handed over from memory when they follow what was handed over, read from the
    /// store when rows came between (a task change's alerts): each row once, in id order.
    @Test func rowsJustCommittedAreHandedOverFromMemoryOrReadAfterAGap() throws {
        let (store, outbox, broker, cleanUp) = try Self.fresh()
        defer { cleanUp() }
        let first = try store.commit(Self.batch(1...2))
        #expect(first == (try store.unpublished()))
        outbox.publish(fresh: first, send: broker.send)
        let second = try store.commit(Self.batch(3...4))
        #expect(second.map(\.alertId) == ["a-3", "a-4"] && second.map(\.id) == [3, 4])
        #expect(second == (try store.unpublished(after: 2)))
        outbox.publish(fresh: second, send: broker.send)
        #expect(broker.handed == ["a-1", "a-2", "a-3", "a-4"])
        // a-5 committed by someone else (its rows not given to the publisher), then a-6.
        try store.commit(Self.batch(5...5))
        let third = try store.commit(Self.batch(6...6))
        outbox.publish(fresh: third, send: broker.send)
        #expect(broker.handed == ["a-1", "a-2", "a-3", "a-4", "a-5", "a-6"])
        // The same alerts again (a journal processed again): nothing inserted, nothing given back.
        #expect(try store.commit(Self.batch(5...6)).isEmpty)
        #expect(try store.commitAlerts([Self.batch(6...7)]).map(\.alertId) == ["a-7"])
    }

    /// New alerts go to the broker ahead of the marks for those acknowledged (a transaction of
    /// the store's): marks that cannot be written hold nothing back, and are written later.
    @Test func marksThatCannotBeWrittenHoldNoAlertBack() throws {
        let (store, outbox, broker, cleanUp) = try Self.fresh()
        defer { cleanUp() }
        try store.commit(Self.batch(1...2))
        outbox.publish(send: broker.send)
        for id in ["a-1", "a-2"] { outbox.acknowledged(broker.mids[id]!) }
        try store.pool.write { try $0.execute(sql: "CREATE TRIGGER no_marks BEFORE UPDATE ON outbox BEGIN SELECT RAISE(ABORT, 'read-only'); END") }
        try store.commit(Self.batch(3...4))
        outbox.publish(send: broker.send)
        #expect(broker.handed == ["a-1", "a-2", "a-3", "a-4"])
        #expect(try store.unpublished().map(\.alertId) == ["a-1", "a-2", "a-3", "a-4"])  // the marks failed
        try store.pool.write { try $0.execute(sql: "DROP TRIGGER no_marks") }
        outbox.publish(send: broker.send)
        #expect(try store.unpublished().map(\.alertId) == ["a-3", "a-4"])
        #expect(broker.handed.count == 4)  // nothing handed over twice
    }

    /// An alert whose detail has what JSON escapes and nests: the payload rebuilt from the stored
    /// row must be the record's JSON byte for byte.
    static let intricate = AlertRecord(
        alertId: "a-x", kind: .unregisteredVisit, severity: .high, at: 1_750_000_000_123,
        enterpriseId: "91330200000000172X", siteId: "S\"1", agencyId: nil, vehicleId: "浙B·12345\n", visitId: "v-x", taskId: nil,
        detail: .object([("visit_start", .time(1_750_000_000_000)), ("agency_tasks_at_enterprise", .int(47)),
                         ("note", .string("tab\tquote\" backslash\\ \u{01}")), ("ratio", .double(0.125)),
                         ("nearest_tasks", .array([.object([("task_id", .string("T1")), ("end", .null)]), .bool(true)]))]))

    @Test func thePayloadIsTheAlertsRecordByteForByte() throws {
        let (store, cleanUp) = try StoreWriterTests.freshStore()
        defer { cleanUp() }
        var b = StoreBatch()
        b.alerts.append((Self.intricate, "alerts/unregistered_visit/91330200000000172X", 0))
        try store.commit(b)
        let rows = try store.unpublished()
        #expect(rows.count == 1)
        #expect(rows.first?.topic == "alerts/unregistered_visit/91330200000000172X")
        #expect(rows.first?.payload == Array(Self.intricate.json.serialized.utf8))
    }

    /// A store written before the outbox lost its payload column (migration v6): the rows keep
    /// their ids and published marks, and what was not published yet goes out as the alert's record.
    @Test func anOutboxFromBeforeV6IsMigratedKeepingIdsAndMarks() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("outbox-v5-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("store.sqlite").path
        do {
            let q = try DatabaseQueue(path: path)
            try Store.migrator.migrate(q, upTo: "v5: alert status withdrawn, lookups by enterprise and agency")
            try q.write { db in
                for (i, a) in [Self.intricate, Self.batch(2...2).alerts[0].record].enumerated() {
                    try db.execute(sql: """
                        INSERT INTO alerts (alert_id, kind, severity, at, enterprise_id, site_id, agency_id, vehicle_id, visit_id, task_id, detail)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """, arguments: [a.alertId, a.kind.rawValue, a.severity.rawValue, a.at, a.enterpriseId, a.siteId, a.agencyId,
                                         a.vehicleId, a.visitId, a.taskId, a.detail.serialized])
                    try db.execute(sql: "INSERT INTO outbox (id, alert_id, topic, payload, published_at) VALUES (?, ?, ?, ?, ?)",
                                   arguments: [10 + i, a.alertId, "alerts/t/\(i)", Data(a.json.serialized.utf8), i == 1 ? 1_750_000_000_999 : nil])
                }
            }
        }
        let store = try Store(path: path)
        let rows = try store.unpublished()
        #expect(rows.map(\.id) == [10])
        #expect(rows.first?.payload == Array(Self.intricate.json.serialized.utf8))
        #expect(try store.unpublishedCount() == 1)
        #expect(try store.count("outbox") == 2)
        // New rows continue after the old ids.
        try store.commit(Self.batch(3...3))
        #expect(try store.unpublished().map(\.id) == [10, 12])
    }
}
