import Foundation
import InspectionCore
import InspectionStore
import InspectionTestSupport
import Testing

/// The store on a small file system of the test's own (tmpfs): filled up while positions flow, and
/// read-only when the daemon starts. The daemon says so, acknowledges nothing it cannot keep (the
/// broker holds it), and recovers by itself; in the end the store equals `replay` of the trace.
@Suite(.serialized) struct DiskFaultTests {
    typealias E2E = DaemonEndToEndTests

    /// A tmpfs of `megabytes` at a new folder; unmounted when the test ends.
    final class SmallDisk {
        let dir: URL
        init(megabytes: Int) throws {
            dir = FileManager.default.temporaryDirectory.appendingPathComponent("disk-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            let status = try run("/bin/mount", ["-t", "tmpfs", "-o", "size=\(megabytes)m", "tmpfs", dir.path])
            #expect(status == 0, "mounting a tmpfs needs root (CAP_SYS_ADMIN): the disk-fault tests cannot run without it")
        }
        func remount(_ mode: String) throws { #expect(try run("/bin/mount", ["-o", "remount,\(mode)", dir.path]) == 0) }
        /// Fills the file system to the last byte (a file of 256 KiB blocks, then smaller ones).
        func fill() -> URL {
            let filler = dir.appendingPathComponent("filler")
            let fd = open(filler.path, O_WRONLY | O_CREAT, 0o600)
            for size in [262_144, 4096, 512, 1] {
                let block = [UInt8](repeating: 0x55, count: size)
                while block.withUnsafeBytes({ write(fd, $0.baseAddress, size) }) == size {}
            }
            close(fd)
            return filler
        }
        deinit { _ = try? run("/bin/umount", ["-l", dir.path]) }
    }

    static func health(_ setup: E2E.Setup) -> Int { httpGet(port: setup.httpPort, "/health")?.status ?? 0 }

    /// A broker, a small disk with the store on it, the daemon, and the first third of the trace
    /// processed; with `keepStore` the test's own handle on the store stays open (opened while
    /// there is room), without it nothing of the test's holds a file on the disk.
    struct Running {
        let broker: TestBroker
        let disk: SmallDisk
        let setup: E2E.Setup
        let pid: pid_t
        let third: Int
        let store: Store?

        init(keepStore: Bool) throws {
            let broker = try TestBroker()
            let disk = try SmallDisk(megabytes: 24)
            let setup = try E2E.Setup(brokerPort: broker.port, format: .native, storeDir: disk.dir)
            let pid = try setup.startDaemon()
            #expect(eventually { setup.log.contains("mqtt connected") })
            let third = setup.fixes.count / 3
            try E2E.publish(setup.fixes[..<third], format: .native, port: broker.port)
            let opened = try E2E.waitProcessed(setup, count: third)
            store = keepStore ? opened : nil
            (self.broker, self.disk, self.setup, self.pid, self.third) = (broker, disk, setup, pid, third)
        }
    }

    @Test func aFullDiskHoldsPositionsInTheBrokerAndTheDaemonRecoversByItself() throws {
        let r = try Running(keepStore: true)
        let (broker, disk, setup, pid, third) = (r.broker, r.disk, r.setup, r.pid, r.third)
        let store = try #require(r.store)
        let filler = disk.fill()
        try E2E.publish(setup.fixes[third..<(2 * third)], format: .native, port: broker.port)
        #expect(eventually(20) { setup.log.contains("cannot write") }, "daemon log:\n\(setup.log)")
        #expect(eventually(10) { Self.health(setup) == 503 })
        let held = try store.processedSeq()
        #expect(held < Int64(2 * third), "the daemon went on as if the disk had room")
        #expect(kill(pid, 0) == 0, "the daemon died")

        try FileManager.default.removeItem(at: filler)  // space returns
        try E2E.publish(setup.fixes[(2 * third)...], format: .native, port: broker.port)
        _ = try E2E.waitProcessed(setup, count: setup.fixes.count)
        #expect(eventually(10) { setup.log.contains("writable again") && Self.health(setup) == 200 })
        try E2E.compare(store, with: try E2E.expected(setup))
        #expect(E2E.terminate(pid) < 5)
    }

    @Test func aReadOnlyStoreAtStartIsWaitedForWhileTheBrokerKeepsThePositions() throws {
        let r = try Running(keepStore: false)
        let (broker, disk, setup, third) = (r.broker, r.disk, r.setup, r.third)
        var pid = r.pid
        #expect(E2E.terminate(pid) < 5)

        try disk.remount("ro")
        pid = try setup.startDaemon()
        #expect(eventually(10) { setup.log.contains("store cannot be opened for writing") }, "daemon log:\n\(setup.log)")
        // Meanwhile the HTTP port says why instead of refusing connections (issue 28 item 9).
        #expect(eventually(10) { httpGet(port: setup.httpPort, "/health")?.status == 503 })
        let health = httpGet(port: setup.httpPort, "/health")
        #expect(health?.body.contains("store cannot be opened for writing") == true, "\(String(describing: health))")
        #expect(httpGet(port: setup.httpPort, "/metrics")?.status == 200)
        #expect(httpGet(port: setup.httpPort, "/api/v1/alerts")?.status == 503)
        // Published while the store is read-only: the broker keeps them for the daemon's session.
        try E2E.publish(setup.fixes[third..<(2 * third)], format: .native, port: broker.port)
        Thread.sleep(forTimeInterval: 1)
        #expect(kill(pid, 0) == 0, "the daemon gave up")

        try disk.remount("rw")
        #expect(eventually(20) { setup.log.contains("store writable again") }, "daemon log:\n\(setup.log)")
        // The daemon's own server on the same port once the waiting one has let it go.
        #expect(eventually(20) { Self.health(setup) == 200 }, "daemon log:\n\(setup.log)")
        try E2E.publish(setup.fixes[(2 * third)...], format: .native, port: broker.port)
        let store = try E2E.waitProcessed(setup, count: setup.fixes.count)
        try E2E.compare(store, with: try E2E.expected(setup))
        #expect(E2E.terminate(pid) < 5)
    }
}
