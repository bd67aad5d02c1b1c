import Foundation
import GRDB
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

    static func metric(_ setup: E2E.Setup, _ series: String) -> Double? {
        let body = httpGet(port: setup.httpPort, "/metrics")?.body ?? ""
        return body.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { Double($0.split(separator: " ").last!) }
    }

    @Test func aStoreHeldByAnotherWriterLosesNothingThoughTheBrokerQueuesLittle() throws {
        let broker = try TestBroker(maxQueued: 1000)
        let setup = try E2E.Setup(brokerPort: broker.port, format: .native, queueCapacity: 1000)
        let pid = try setup.startDaemon()
        #expect(eventually { setup.log.contains("mqtt connected") })

        let holder = try DatabaseQueue(path: setup.store)
        let held = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0), released = DispatchSemaphore(value: 0)
        Thread {
            try? holder.inTransaction(.exclusive) { _ in
                held.signal()
                release.wait()
                return .commit
            }
            released.signal()
        }.start()
        held.wait()
        // Twice over (the second copy is rejected as duplicates, so the outcome is replay's), at
        // 5,000 msg/s: the broker's 1,000 would last the daemon 0.2 s if it stopped reading.
        try E2E.publish(setup.fixes[...], format: .native, port: broker.port, rate: 5000)
        try E2E.publish(setup.fixes[...], format: .native, port: broker.port, rate: 5000)
        #expect(eventually(20) { setup.log.contains("store cannot write") }, "daemon log:\n\(setup.log)")
        Thread.sleep(forTimeInterval: 1)  // what the broker had for the daemon has reached it
        let stuck = try Store(path: setup.store, readOnly: true).processedSeq()
        #expect(stuck < Int64(setup.fixes.count), "the store was not held: the test shows nothing")
        release.signal()
        released.wait()

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
        let holder = try DatabaseQueue(path: setup.store)
        let held = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0), released = DispatchSemaphore(value: 0)
        Thread {
            try? holder.inTransaction(.exclusive) { _ in
                held.signal()
                release.wait()
                return .commit
            }
            released.signal()
        }.start()
        held.wait()
        let half = setup.fixes.count / 2
        try E2E.publish(setup.fixes[..<half], format: .native, port: broker.port, rate: 5000)
        Thread.sleep(forTimeInterval: 1)  // what the broker had for the daemon has reached its journal
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        release.signal()
        released.wait()
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
}
