import Foundation
import InspectionCore
import InspectionMQTT
import InspectionSim
import InspectionTestSupport
import Testing

/// `inspection-sim publish` as a process against a real broker that restarts mid-stream: every
/// position of the traces arrives, in the format asked for.
@Suite(.serialized) struct PublishTests {
    static var executable: String { SharedData.repoRoot.appendingPathComponent(".build/debug/inspection-sim").path }

    @Test(arguments: PayloadFormat.allCases)
    func everyPositionArrivesThoughTheBrokerRestarts(format: PayloadFormat) throws {
        let broker = try TestBroker()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("publish-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let s = try ScenarioTests.generate(vehicles: 3, days: 2, plant: [:])
        _ = try ScenarioFiles.write(s, noise: Noise(), seed: 1, to: dir.path)
        let expected = Set(s.tracks.enumerated().flatMap { v, fixes in fixes.map { "\(s.vehicleIds[v])@\($0.ts)" } })

        // A subscriber with a kept session: what the broker holds for it survives the restart.
        let received = Collected<String>()
        var settings = MQTTSettings()
        settings.port = broker.port
        settings.clientId = "publish-test-subscriber"
        let subscriber = try MQTTClient(settings: settings, onMessage: { m in
            var tv = [UInt8](m.topic.split(separator: "/").dropFirst(format == .jt808 ? 2 : format == .native ? 1 : 2).first.map { Array($0.utf8) } ?? [])
            if format == .owntracks { tv = Array(m.topic.split(separator: "/").last!.utf8) }
            m.payload.withUnsafeBufferPointer { b in
                if case .success(.position(let p)) = PayloadDecoder.decode(format, payload: b, topicVehicle: tv) {
                    received.append("\(String(decoding: p.vehicle, as: UTF8.self))@\(p.ts / 1000)")
                }
            }
        })
        try subscriber.subscribe(format.defaultFilter, qos: 1)
        try subscriber.start()
        #expect(eventually { (try? String(contentsOf: broker.dir.appendingPathComponent("broker.log"), encoding: .utf8))?.contains("publish-test-subscriber") ?? false })

        let log = dir.appendingPathComponent("publish.log").path
        let traces = (1...2).map { dir.appendingPathComponent("traces/day-0\($0).csv").path }
        // Two days at 40,000× real time: about 4 s of publishing, the broker restarted in the middle.
        let pid = try spawn(Self.executable, ["publish", "--broker", "127.0.0.1:\(broker.port)", "--format", format.rawValue,
                                              "--speed", "40000", "--client-id", "sim-\(format.rawValue)"] + traces, stdout: log)
        // Restart the broker once the publisher is well under way (a fixed delay races a slow start).
        #expect(eventually(20) { received.count > expected.count / 5 })
        try broker.restart()
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        #expect(status == 0, "exit \(status >> 8): \(output.split(separator: "\n").suffix(2).joined(separator: " | "))")
        #expect(output.contains("published \(expected.count) messages (\(expected.count) acknowledged"), "\(output)")
        let summary = output.split(separator: "\n").last.map(String.init) ?? ""
        #expect(summary.contains("1 reconnects") || summary.contains("2 reconnects"), "\(summary)")
        #expect(eventually(20) { Set(received.all) == expected }, "received \(Set(received.all).count) of \(expected.count)")
        subscriber.stop()
    }

    @Test func garbledPayloadsAndFileOrderReachTheBrokerAsAsked() throws {
        let broker = try TestBroker()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("publish-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let s = try ScenarioTests.generate(vehicles: 3, days: 1, plant: [:])
        var noise = Noise()
        noise.delay = 0.05
        _ = try ScenarioFiles.write(s, noise: noise, seed: 1, to: dir.path)
        let good = Collected<Millis>(), bad = Collected<Int>()
        var settings = MQTTSettings()
        settings.port = broker.port
        settings.clientId = "garble-test-subscriber"
        let subscriber = try MQTTClient(settings: settings, onMessage: { m in
            m.payload.withUnsafeBufferPointer { b in
                if case .success(.position(let p)) = PayloadDecoder.decode(.native, payload: b, topicVehicle: []) { good.append(p.ts) } else { bad.append(1) }
            }
        })
        try subscriber.subscribe("vehicles/+/position", qos: 1)
        try subscriber.start()
        #expect(eventually { (try? String(contentsOf: broker.dir.appendingPathComponent("broker.log"), encoding: .utf8))?.contains("garble-test-subscriber") ?? false })
        let log = dir.appendingPathComponent("publish.log").path
        let status = try run(Self.executable, ["publish", "--broker", "127.0.0.1:\(broker.port)", "--corrupt", "0.1", "--file-order", "--quiet",
                                               dir.appendingPathComponent("traces/day-01.csv").path])
        _ = log
        #expect(status == 0)
        let total = s.tracks.reduce(0) { $0 + $1.count }
        #expect(eventually(20) { good.count + bad.count == total })
        #expect(Double(bad.count) > 0.05 * Double(total) && Double(bad.count) < 0.15 * Double(total))
        // Delayed lines went out late: the stream is not in time order.
        let ts = good.all
        #expect(zip(ts, ts.dropFirst()).contains { $0 > $1 })
        subscriber.stop()
    }

    @Test func aBadBrokerAddressOrFormatIsAOneLineErrorAndExit2() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("publish-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let log = dir.appendingPathComponent("out.log").path
        for args in [["--broker", "nohost"], ["--format", "nmea"], ["--speed", "fast"], []] {
            _ = try? FileManager.default.removeItem(atPath: log)
            let pid = try spawn(Self.executable, ["publish"] + args + [dir.appendingPathComponent(args.isEmpty ? "missing.csv" : "x.csv").path], stdout: log)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
            let out = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            #expect((status >> 8) & 0xff == 2, "\(args): \(out)")
            #expect(out.hasPrefix("inspection-sim: ") && out.split(separator: "\n").count == 1, "\(args): \(out)")
        }
    }
}
