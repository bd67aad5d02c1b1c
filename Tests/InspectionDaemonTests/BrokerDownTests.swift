import Foundation
import InspectionTestSupport
import Testing
@testable import InspectionDaemon

/// Loud when the broker cannot be reached (issue 27 item 4).
@Suite struct BrokerDownTests {
    @Test func theWatchSaysTheFirstFailureAtOnceThenRemindsThenSaysItIsBack() {
        var w = BrokerWatch(every: 30)
        #expect(w.due(now: 0) == nil)  // nothing has failed
        #expect(w.failed("Connection refused", now: 10) == .down(reason: "Connection refused"))
        #expect(w.failed("Connection refused", now: 11) == nil)  // said already
        #expect(w.due(now: 39) == nil)
        #expect(w.failed("No route to host", now: 40) == nil)
        #expect(w.due(now: 40) == .stillDown(reason: "No route to host", seconds: 30))
        #expect(w.due(now: 41) == nil)
        #expect(w.connected(now: 55) == .back(afterSeconds: 45))
        #expect(w.due(now: 200) == nil && w.connected(now: 201) == nil)
        #expect(w.failed("closed", now: 300) == .down(reason: "closed"))  // a new outage is said again
    }

    @Test func theDaemonSaysTheBrokerIsUnreachableWithinTwoSeconds() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("down-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let brokerPort = try TestBroker.freePort()  // nothing listens there
        let setup = try DaemonEndToEndTests.Setup(brokerPort: brokerPort, format: .native)
        defer { try? FileManager.default.removeItem(at: setup.dir) }
        let pid = try setup.startDaemon()
        defer { _ = DaemonEndToEndTests.terminate(pid) }
        #expect(eventually(10) { setup.log.contains("mqtt connection failed") }, "daemon log:\n\(setup.log)")
        // Said at once by the first attempt itself (not after libmosquitto's backoff, whose
        // retries say nothing), with the reason and the broker.
        let line = setup.log.split(separator: "\n").first { $0.contains("mqtt connection failed") } ?? ""
        #expect(line.contains("cannot connect to 127.0.0.1:\(brokerPort): Connection refused"), "\(line)")
    }

    /// Under systemd (`$JOURNAL_STREAM`), each line starts with its syslog priority for journald.
    @Test func underSystemdEachLineCarriesItsPriority() throws {
        let brokerPort = try TestBroker.freePort()
        let setup = try DaemonEndToEndTests.Setup(brokerPort: brokerPort, format: .native)
        defer { try? FileManager.default.removeItem(at: setup.dir) }
        let pid = try spawn(DaemonEndToEndTests.executable, ["serve", "--config", setup.config.path],
                            stdout: setup.dir.appendingPathComponent("daemon.log").path, environment: ["JOURNAL_STREAM": "8:12345"])
        defer { _ = DaemonEndToEndTests.terminate(pid) }
        #expect(eventually(10) { setup.log.contains("mqtt connection failed") }, "daemon log:\n\(setup.log)")
        let lines = setup.log.split(separator: "\n")
        #expect(lines.contains { $0.hasPrefix("<3>error inspection-watch:") && $0.hasSuffix("mqtt connection failed") }, "\(setup.log)")
        #expect(lines.contains { $0.hasPrefix("<5>notice inspection-watch:") && $0.contains("registry loaded") }, "\(setup.log)")
        #expect(lines.allSatisfy { $0.hasPrefix("<") }, "\(setup.log)")
    }

    @Test func publishSaysTheBrokerIsUnreachableAndGivesUp() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pub-down-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let trace = dir.appendingPathComponent("t.csv")
        try Data("vehicle_id,ts,lat,lon\nV1,1773108000,31.23,121.47\n".utf8).write(to: trace)
        let port = try TestBroker.freePort()
        let (status, out) = try runCapturing(SharedData.repoRoot.appendingPathComponent(".build/debug/inspection-sim").path,
                                             ["publish", "--broker", "127.0.0.1:\(port)", "--connect-timeout-s", "2", "--quiet", trace.path], in: dir)
        #expect(status != 0)
        #expect(out.contains("cannot reach the broker at 127.0.0.1:\(port)") && out.contains("trying for 2 s"), "\(out)")
        #expect(out.contains("for 2 s:"), "\(out)")
    }
}
