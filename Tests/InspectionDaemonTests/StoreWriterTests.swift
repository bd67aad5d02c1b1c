import Foundation
@testable import InspectionDaemon
import GRDB
import InspectionCore
import InspectionStore
import InspectionTestSupport
import Logging
import Testing

/// The store's thread commits batches in the order given, and what follows a batch (a checkpoint)
/// runs only once that batch is in the store — on a real SQLite file.
@Suite struct StoreWriterTests {
    final class Seen: @unchecked Sendable {
        let lock = NSLock()
        var committed: [Int64] = []
        var storedWhenFollowing: [Int64] = []
    }

    static func batch(_ seq: Int64) -> StoreBatch {
        var b = StoreBatch()
        b.processedSeq = seq
        return b
    }

    /// A store in a new temporary folder (removed by `cleanUp`).
    static func freshStore(backgroundCheckpoints: Bool = false) throws -> (store: Store, cleanUp: () -> Void) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("writer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return (try Store(path: dir.appendingPathComponent("store.sqlite").path, backgroundCheckpoints: backgroundCheckpoints),
                { try? FileManager.default.removeItem(at: dir) })
    }

    /// A daemon whose parts are cancelled together (a part failed) stops the writer while the
    /// engine may still hand it a batch or wait for it: both are refused at once, never a wait
    /// for a thread that has ended (the journal keeps what was not stored).
    @Test func aStoppedWriterRefusesWorkInsteadOfHoldingTheEngine() throws {
        let (store, cleanUp) = try Self.freshStore()
        defer { cleanUp() }
        let writer = StoreWriter(store: store, faults: Faults(logger: Logger(label: "test")), committed: { _ in }, idle: { _ in })
        #expect(writer.submit(Self.batch(1)))
        writer.stop()
        #expect(try store.processedSeq() == 1)
        #expect(!writer.submit(Self.batch(2)))
        #expect(!writer.afterCommit {})
        #expect(!writer.drain())
        #expect(try store.processedSeq() == 1)
    }

    @Test func batchesAreCommittedInOrderAndWhatFollowsABatchSeesIt() throws {
        let (store, cleanUp) = try Self.freshStore()
        defer { cleanUp() }
        let seen = Seen()
        let writer = StoreWriter(store: store, faults: Faults(logger: Logger(label: "test")), capacity: 3, committed: { b in
            seen.lock.withLock { seen.committed.append(b.processedSeq ?? -1) }
        }, idle: { _ in })
        for seq in Int64(1)...200 {
            #expect(writer.submit(Self.batch(seq)))
            if seq % 50 == 0 {
                writer.afterCommit {
                    let stored = (try? store.processedSeq()) ?? -1
                    seen.lock.withLock { seen.storedWhenFollowing.append(stored) }
                }
            }
        }
        #expect(writer.drain())
        #expect(writer.depth.items == 0)
        seen.lock.withLock {
            #expect(seen.committed == Array(1...200))
            #expect(seen.storedWhenFollowing == [50, 100, 150, 200])
        }
        #expect(try store.processedSeq() == 200)
        writer.stop()
    }

    /// A store that does not keep up holds the engine back, counted: nothing is dropped.
    @Test func aFullQueueHoldsTheSubmitterBackAndIsCounted() throws {
        let (store, cleanUp) = try Self.freshStore()
        defer { cleanUp() }
        let writer = StoreWriter(store: store, faults: Faults(logger: Logger(label: "test")), capacity: 3, committed: { _ in }, idle: { _ in })
        let gate = DispatchSemaphore(value: 0), done = DispatchSemaphore(value: 0)
        writer.afterCommit { gate.wait() }  // the store's thread is held here
        let producer = Thread {
            for seq in Int64(1)...10 { writer.submit(Self.batch(seq)) }
            done.signal()
        }
        producer.start()
        #expect(eventually(10) { writer.depth.fullWaits > 0 })
        #expect(writer.depth.items == 3)
        #expect(try store.processedSeq() == 0)
        gate.signal()
        done.wait()
        #expect(writer.drain())
        #expect(try store.processedSeq() == 10)
        writer.stop()
    }

    /// Batches that waited together are committed in one transaction, in order.
    @Test func batchesWaitingTogetherAreCommittedInOneTransaction() throws {
        let (store, cleanUp) = try Self.freshStore()
        defer { cleanUp() }
        let seen = Seen()
        let writer = StoreWriter(store: store, faults: Faults(logger: Logger(label: "test")), committed: { b in
            seen.lock.withLock { seen.committed.append(b.processedSeq ?? -1) }
        }, idle: { _ in })
        let gate = DispatchSemaphore(value: 0)
        writer.afterCommit { gate.wait() }  // the store's thread is held while five batches queue
        for seq in Int64(1)...5 { #expect(writer.submit(Self.batch(seq))) }
        #expect(writer.depth.commits == 0)
        gate.signal()
        #expect(writer.drain())
        #expect(writer.depth.commits == 1)
        seen.lock.withLock { #expect(seen.committed == [1, 2, 3, 4, 5]) }
        #expect(try store.processedSeq() == 5)
        #expect(writer.submit(Self.batch(6)))
        #expect(writer.drain())
        #expect(writer.depth.commits == 2)
        writer.stop()
    }

    /// A burst: `n` visits of 30 fixes each, an alert for each.
    static func burst(_ seq: Int64, _ n: Int) -> StoreBatch {
        var b = batch(seq)
        for i in 0..<n {
            let t = Millis(1_750_000_000_000 + i * 1000)
            b.visits.append(VisitRecord(visitId: "v-\(i)", vehicleId: "V\(i)", agencyId: "A1", siteId: "S\(i)", enterpriseId: "E\(i)",
                                        start: t, end: nil, points: 30, taskId: nil, occasionId: "o-\(i)", openedAt: t))
            b.evidence.append((visitId: "v-\(i)", fixes: (0..<30).map { Fix(ts: t + Millis($0) * 1000, lat: 60.45, lon: 26.94) }))
            let a = AlertRecord(alertId: "a-\(i)", kind: .unregisteredVisit, severity: .high, at: t, enterpriseId: "E\(i)", siteId: "S\(i)",
                                agencyId: "A1", vehicleId: "V\(i)", visitId: "v-\(i)", taskId: nil, detail: .object([]))
            b.alerts.append((a, "alerts/unregistered_visit/E\(i)", 0))
        }
        return b
    }

    /// How many visits the store held when the outbox first had alerts, seen from `idle` (which
    /// publishes the outbox in the daemon).
    final class FirstSight: @unchecked Sendable {
        let lock = NSLock()
        var visitsWhenOutboxFirstHadAlerts: Int?
    }

    static func writerWatchingTheOutbox(_ store: Store) -> (StoreWriter, FirstSight) {
        let sight = FirstSight()
        let writer = StoreWriter(store: store, faults: Faults(logger: Logger(label: "test")), committed: { _ in }, idle: { _ in
            guard let waiting = try? store.unpublishedCount(), waiting > 0 else { return }
            let visits = (try? store.visits().count) ?? -1
            sight.lock.withLock { if sight.visitsWhenOutboxFirstHadAlerts == nil { sight.visitsWhenOutboxFirstHadAlerts = visits } }
        })
        return (writer, sight)
    }

    /// A burst's alerts are in the outbox (and handed to the publisher) before its visits and
    /// their evidence are written; a crash between the two steps doubles nothing when the journal
    /// brings the batch again.
    @Test func aBurstsAlertsGoFirstAndComingAgainDoublesNothing() async throws {
        let (store, cleanUp) = try Self.freshStore()
        defer { cleanUp() }
        let (writer, sight) = Self.writerWatchingTheOutbox(store)
        // 120 visits: more other rows than `alertsFirstAbove` whatever else waits, so the alerts go
        // first in any interleaving of the writer's thread and this one.
        let burst = Self.burst(1, 120)
        func plan(_ b: StoreBatch) -> WritePlan {
            WritePlan.make([WritePlan.Waiting(.batch(b))], storedThrough: 0) { _ in
                b.visits.count + b.evidence.reduce(0) { $0 + $1.fixes.count }
            }
        }
        #expect(!plan(burst).alertsFirst.isEmpty)
        #expect(plan(Self.burst(1, 1)).alertsFirst.isEmpty)  // one alert, 31 other rows: one transaction
        #expect(writer.submit(burst))
        #expect(writer.drain())
        writer.stop()
        sight.lock.withLock { #expect(sight.visitsWhenOutboxFirstHadAlerts == 0) }
        #expect(try store.visits().count == 120)
        #expect(try store.alertKeys().count == 120)
        #expect(try store.unpublishedCount() == 120)
        #expect(try store.processedSeq() == 1)

        // Stopped between the steps: the journal after sequence 0 is processed again and the
        // whole batch comes again, alerts included.
        try store.commit([burst])
        #expect(try store.alertKeys().count == 120)
        #expect(try store.unpublishedCount() == 120)
        for i in 0..<120 { #expect(try await store.alertHistory(id: "a-\(i)").map(\.status) == [.open]) }
        #expect(try store.visits().count == 120)
    }

    /// Alerts waiting behind other work (a batch of many rows, a checkpoint) go ahead of it, once:
    /// their batch is committed later without them.
    @Test func alertsQueuedBehindOtherWorkGoAheadOfIt() async throws {
        let (store, cleanUp) = try Self.freshStore()
        defer { cleanUp() }
        let (writer, sight) = Self.writerWatchingTheOutbox(store)
        let gate = DispatchSemaphore(value: 0)
        writer.afterCommit { gate.wait() }  // the store's thread is held while the queue fills
        var many = Self.burst(1, 10)  // ten visits, 300 evidence rows, no alert
        many.alerts = []
        #expect(writer.submit(many))
        #expect(writer.afterCommit {})
        var one = Self.burst(2, 1)  // an alert for visit v-0 again; its batch behind both
        one.visits[0].visitId = "v-later"
        one.evidence = []
        #expect(writer.submit(one))
        gate.signal()
        #expect(writer.drain())
        writer.stop()
        sight.lock.withLock { #expect(sight.visitsWhenOutboxFirstHadAlerts == 0) }
        #expect(try store.visits().count == 11)
        #expect(try store.alertKeys().count == 1)
        #expect(try await store.alertHistory(id: "a-0").map(\.status) == [.open])
        #expect(try store.unpublishedCount() == 1)
        #expect(try store.processedSeq() == 2)
    }

    /// The engine's opening of an alert is not a row but shows in the history all the same, once,
    /// whether implied or (as stores before it wrote) stored.
    @Test func anAlertsOpeningIsInItsHistoryOnceImpliedOrStored() async throws {
        let (store, cleanUp) = try Self.freshStore()
        defer { cleanUp() }
        let burst = Self.burst(1, 2)
        try store.commit([burst])
        #expect(try store.count("alert_status") == 0)
        let at = burst.alerts[0].record.at
        let opening = try await store.alertHistory(id: "a-0")
        #expect(opening.map(\.status) == [.open] && opening.map(\.at) == [at] && opening.map(\.actor) == ["engine"] && opening[0].note == nil)
        guard case .changed = try await store.changeStatus(alertId: "a-0", to: .acknowledged, actor: "office", note: "seen", at: at + 60_000) else {
            Issue.record("not acknowledged"); return
        }
        #expect(try await store.alertHistory(id: "a-0").map(\.status) == [.open, .acknowledged])
        try await DatabaseQueue(path: store.path).write {
            try $0.execute(sql: "INSERT INTO alert_status (alert_id, at, status, actor, note) VALUES ('a-1', ?, 'open', 'engine', NULL)", arguments: [at])
        }
        #expect(try await store.alertHistory(id: "a-1").map(\.status) == [.open])
        #expect(try await store.alertHistory(id: "no-such-alert").isEmpty)
    }
}
