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

    @Test func eachRowIsHandedOverOnceAndMarkedWhenAcknowledged() throws {
        let (store, cleanUp) = try StoreWriterTests.freshStore()
        defer { cleanUp() }
        let outbox = OutboxPublisher(store: store, faults: Faults(logger: Logger(label: "test")))
        let broker = Broker()
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
        // Acknowledged: marked published with the next read. a-6 is acknowledged before `send`
        // returns its message id, as libmosquitto may do.
        for id in ["a-1", "a-2", "a-4"] { outbox.acknowledged(broker.mids[id]!) }
        try store.commit(Self.batch(6...6))
        outbox.publish { e throws(MQTTError) in
            let mid = try broker.send(e)
            outbox.acknowledged(mid)
            return mid
        }
        #expect(try store.unpublished().map(\.alertId) == ["a-3", "a-5", "a-6"])
        outbox.publish(send: broker.send)
        #expect(try store.unpublished().map(\.alertId) == ["a-3", "a-5"])
        #expect(broker.handed == ["a-1", "a-2", "a-3", "a-4", "a-5", "a-6"])
        for id in ["a-3", "a-5"] { outbox.acknowledged(broker.mids[id]!) }
        outbox.publish(send: broker.send)
        #expect(try store.unpublished().isEmpty)
        #expect(try store.unpublishedCount() == 0)
        #expect(broker.handed.count == 6)
    }

    @Test func aRowTheBrokerCouldNotTakeIsTriedAgain() throws {
        let (store, cleanUp) = try StoreWriterTests.freshStore()
        defer { cleanUp() }
        let outbox = OutboxPublisher(store: store, faults: Faults(logger: Logger(label: "test")))
        let broker = Broker()
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
