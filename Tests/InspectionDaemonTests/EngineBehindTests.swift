import Foundation
import GRDB
import InspectionCore
import InspectionStore
import InspectionTestSupport
import Testing

/// The engine far behind the broker: the store is held by another writer (an exclusive SQLite
/// transaction of the test's) while the trace arrives twice over, the daemon's queue holds 1,000
/// messages in memory and the broker queues at most 1,000 for it (mosquitto's default). Acknowledgements do not wait on
/// processing: the journal takes every message, the engine reads back what memory could not hold
/// once the store is free, and the broker drops nothing.
@Suite(.serialized) struct EngineBehindTests {
    typealias E2E = DaemonEndToEndTests

    /// Another writer holding the store: an exclusive SQLite transaction on a thread of the test's,
    /// from `init` until `release`.
    final class StoreHolder: @unchecked Sendable {
        private let release_ = DispatchSemaphore(value: 0), released = DispatchSemaphore(value: 0)

        init(path: String) throws {
            let db = try DatabaseQueue(path: path)
            let held = DispatchSemaphore(value: 0)
            Thread { [release_, released] in
                try? db.inTransaction(.exclusive) { _ in
                    held.signal()
                    release_.wait()
                    return .commit
                }
                released.signal()
            }.start()
            held.wait()
        }

        func release() {
            release_.signal()
            released.wait()
        }
    }

    static func metric(_ setup: E2E.Setup, _ series: String) -> Double? {
        let body = httpGet(port: setup.httpPort, "/metrics")?.body ?? ""
        return body.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { Double($0.split(separator: " ").last!) }
    }

    @Test func aStoreHeldByAnotherWriterLosesNothingThoughTheBrokerQueuesLittle() throws {
        let broker = try TestBroker(maxQueued: 4000)
        let setup = try E2E.Setup(brokerPort: broker.port, format: .native, queueCapacity: 1000)
        let pid = try setup.startDaemon()
        #expect(eventually { setup.log.contains("mqtt connected") })

        let holder = try StoreHolder(path: setup.store)
        // Twice over (the second copy is rejected as duplicates, so the outcome is replay's), at
        // 2,000 msg/s: the broker's 4,000 would last the daemon 2 s if it stopped reading — a
        // fifth of what is sent, and room for a daemon that a busy machine holds back a moment
        // (with 0.2 s of room, a suite running beside it made the broker drop).
        try E2E.publish(setup.fixes[...], format: .native, port: broker.port, rate: 2000)
        try E2E.publish(setup.fixes[...], format: .native, port: broker.port, rate: 2000)
        #expect(eventually(20) { setup.log.contains("store cannot write") }, "daemon log:\n\(setup.log)")
        Thread.sleep(forTimeInterval: 1)  // what the broker had for the daemon has reached it
        let stuck = try Store(path: setup.store, readOnly: true).processedSeq()
        #expect(stuck < Int64(setup.fixes.count), "the store was not held: the test shows nothing")
        holder.release()

        let store = try E2E.waitProcessed(setup, count: 2 * setup.fixes.count)
        try E2E.compare(store, with: try E2E.expected(setup))
        #expect(eventually(5) { (Self.metric(setup, "iw_ingest_spilled_total") ?? 0) > 0 },
                "memory held everything: the journal was not read back")
        let brokerLog = (try? String(contentsOf: broker.dir.appendingPathComponent("broker.log"), encoding: .utf8)) ?? ""
        #expect(!brokerLog.contains("dropped"), "broker log:\n\(brokerLog)")
        #expect(E2E.terminate(pid) < 5)
    }

    /// Killed while far behind: the journal holds what was not processed; the next start reads it
    /// from the journal while it already receives again, and the outcome is replay's.
    @Test func killedWhileFarBehindTheNextStartProcessesTheJournalAfterTheCheckpoint() throws {
        let broker = try TestBroker(maxQueued: 1000)
        let setup = try E2E.Setup(brokerPort: broker.port, format: .native, queueCapacity: 1000)
        var pid = try setup.startDaemon()
        #expect(eventually { setup.log.contains("mqtt connected") })
        let holder = try StoreHolder(path: setup.store)
        let half = setup.fixes.count / 2
        try E2E.publish(setup.fixes[..<half], format: .native, port: broker.port, rate: 5000)
        Thread.sleep(forTimeInterval: 1)  // what the broker had for the daemon has reached its journal
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        holder.release()
        #expect(try Store(path: setup.store, readOnly: true).processedSeq() < Int64(half), "the store was not held: the test shows nothing")

        pid = try setup.startDaemon()
        #expect(eventually { setup.log.contains("journal after the checkpoint is processed again") }, "daemon log:\n\(setup.log)")
        try E2E.publish(setup.fixes[half...], format: .native, port: broker.port, rate: 5000)
        let store = try E2E.waitProcessed(setup, count: setup.fixes.count)
        try E2E.compare(store, with: try E2E.expected(setup))
        let brokerLog = (try? String(contentsOf: broker.dir.appendingPathComponent("broker.log"), encoding: .utf8)) ?? ""
        #expect(!brokerLog.contains("dropped"), "broker log:\n\(brokerLog)")
        #expect(E2E.terminate(pid) < 5)
    }

    /// Killed far behind, and a task covering an earlier visit added to the files meanwhile: the
    /// next start processes the journal under the new task, then matches the visits already in the
    /// store again; the alerts still standing are replay's with the new task.
    @Test func aTaskAddedWhileDownIsMatchedAgainOnceTheBacklogIsThrough() throws {
        let broker = try TestBroker()
        let setup = try E2E.Setup(brokerPort: broker.port, format: .native, queueCapacity: 1000)
        let before = try E2E.expected(setup)
        // A visit early in the trace: processed before the kill; the rest of the trace after it
        // arrives while the store is held (the backlog).
        let visit = try #require(before.visits.first { $0.agencyId != nil && $0.end != nil })
        let split = try #require(setup.fixes.firstIndex { Millis($0.ts) * 1000 > visit.end! + 600_000 })
        #expect(split < setup.fixes.count - 1000)
        var pid = try setup.startDaemon()
        #expect(eventually { setup.log.contains("mqtt connected") })
        try E2E.publish(setup.fixes[..<split], format: .native, port: broker.port)
        _ = try E2E.waitProcessed(setup, count: split)

        let holder = try StoreHolder(path: setup.store)
        try E2E.publish(setup.fixes[split...], format: .native, port: broker.port, rate: 5000)
        Thread.sleep(forTimeInterval: 1)
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        holder.release()

        let day = DateFormatter()
        day.dateFormat = "yyyy-MM-dd"
        day.timeZone = TimeZone(identifier: "Asia/Shanghai")
        let date = day.string(from: Date(timeIntervalSince1970: Double(visit.start) / 1000))
        let announced = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(visit.start) / 1000 - 7 * 86_400))
        try Data(("task_id,agency_id,partner_agency_ids,enterprise_id,site_id,kind,start,end,announced_at,cross_region,status\n"
                  + "T-LATE,\(visit.agencyId!),,\(visit.enterpriseId),,planned,\(date),\(date),\(announced),,\n").utf8)
            .write(to: setup.registry.appendingPathComponent("tasks.csv"))
        let after = try E2E.expected(setup)
        #expect(after.alerts.map(\.alertId) != before.alerts.map(\.alertId), "the task changes nothing: the test shows nothing")

        pid = try setup.startDaemon()
        #expect(eventually { setup.log.contains("journal after the checkpoint is processed again") }, "daemon log:\n\(setup.log)")
        let store = try E2E.waitProcessed(setup, count: setup.fixes.count)
        #expect(eventually(10) { setup.log.contains("visits matched again") }, "daemon log:\n\(setup.log)")
        #expect(try store.visits().first { $0.visitId == visit.visitId }?.taskId == "T-LATE")
        let standing = try DatabaseQueue(path: setup.store).read { db in
            try String.fetchAll(db, sql: "SELECT alert_id FROM alerts WHERE status != 'withdrawn' ORDER BY at, alert_id")
        }
        #expect(Set(standing) == Set(after.alerts.map(\.alertId)))
        #expect(E2E.terminate(pid) < 5)
    }
}
