import Foundation
@testable import InspectionDaemon
import InspectionCore
import InspectionMQTT
import InspectionStore
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
}
