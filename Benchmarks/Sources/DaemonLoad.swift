import ArgumentParser
import Foundation
import InspectionCore
import InspectionFiles
import InspectionMQTT
import InspectionReplay
import InspectionSim
import InspectionStore

/// Load for the daemon benchmark (`Benchmarks/daemon.sh`): publishes trace files to the broker and
/// measures, from the first message published, how long until a receiver has them all — either a
/// count-only libmosquitto subscriber in this process (the baseline), or the running daemon (its
/// store's processed sequence number). With `--latency`, it also subscribes to `alerts/#` and times
/// each alert from the publishing of the position that raised it (same `vehicle_id` and `at`).
struct DaemonLoad: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "load")
    @Option var port: Int32
    @Option var qos: Int32 = 0
    @Option(help: "Messages per second; as fast as possible when absent.") var rate: Double?
    @Option(help: "count (a count-only subscriber here) or daemon (poll --store).") var mode = "count"
    @Option var store: String?
    @Flag var latency = false
    @Option(help: "With --latency: each alert as a CSV line (seconds since the start when its position was sent, latency in ms, kind).")
    var latencyOut: String?
    @Option(help: "Stop after this many messages.") var limit = Int.max
    @Option(help: "Publish the traces this many times, each pass shifted later (a long load).") var repeats = 1
    @Option(help: "Stop after this many messages in all.") var total = Int.max
    @Argument var traces: [String]

    func run() throws {
        var files: [(String, [UInt8])] = []
        for t in traces { files.append((t, try FileBytes.read(t))) }
        var (positions, names) = try Publisher.load(files)
        if positions.count > limit { positions.removeLast(positions.count - limit) }
        let total = min(self.total, positions.count * repeats)
        let ts0 = positions.first?.ts ?? 0
        let shift = ((positions.map(\.ts).max() ?? 0) - ts0) + Timestamp.msPerDay
        let timestamps = positions.map(\.ts)
        let st = LoadState()
        let lock = st.lock
        var counter: MQTTClient?
        if mode == "count" {
            var s = MQTTSettings()
            s.port = port
            s.clientId = "bench-count-\(getpid())"
            s.cleanSession = true
            let c = try MQTTClient(settings: s, onMessage: { _ in
                lock.withLock { st.received += 1; st.lastAt = Date().timeIntervalSince1970 }
            })
            try c.subscribe("vehicles/+/position", qos: qos)
            try c.start()
            counter = c
        }
        let stored = try store.map { try Store(path: $0, readOnly: true) }  // an observer: no migration, no write (a baseline daemon keeps its schema)
        let baseSeq = try stored?.processedSeq() ?? 0

        // Latency: which trace position each alert came from, and when it was sent.
        st.sentAt = [Double](repeating: 0, count: latency ? total : 0)
        var alertsClient: MQTTClient?
        if latency {
            let vehicleNumbers = Dictionary(names.enumerated().map { ($1, Int32($0)) }, uniquingKeysWith: { a, _ in a })
            st.find = { v, at in
                // Which pass, then a binary search for the timestamp among positions in time order.
                guard let n = vehicleNumbers[v] else { return nil }
                let pass = Int((at - ts0) / shift)
                let ts = at - Millis(pass) * shift
                var lo = 0, hi = timestamps.count
                while lo < hi { let mid = (lo + hi) / 2; if timestamps[mid] < ts { lo = mid + 1 } else { hi = mid } }
                var k = lo
                while k < timestamps.count && timestamps[k] == ts { if positions[k].vehicle == n { return pass * positions.count + k }; k += 1 }
                return nil
            }
            var s = MQTTSettings()
            s.port = port
            s.clientId = "bench-office-\(getpid())"
            s.cleanSession = true
            // The callback only notes the arrival and the four fields it needs (the record's
            // top-level fields come before its `detail`): parsing each 2–3 KB alert with
            // JSONSerialization here delayed the alerts behind it in a burst of hundreds, and
            // that is the subscriber's time, not the daemon's.
            let c = try MQTTClient(settings: s, onMessage: { m in
                let now = Date().timeIntervalSince1970
                guard let v = Self.field("vehicle_id", in: m.payload), let at = Self.field("at", in: m.payload).flatMap(Timestamp.parseRFC3339) else { return }
                let kind = Self.field("kind", in: m.payload) ?? "", alertId = Self.field("alert_id", in: m.payload) ?? ""
                lock.withLock {
                    if let k = st.find(v, at), st.sentAt[k] > 0 {
                        st.latencies.append(now - st.sentAt[k])
                        st.timeline.append((st.sentAt[k], now - st.sentAt[k], kind, alertId))
                    }
                }
            })
            try c.subscribe("alerts/#", qos: 1)
            try c.start()
            alertsClient = c
        }
        Thread.sleep(forTimeInterval: 0.5)

        var o = Publisher.Options()
        o.mqtt.port = port
        o.mqtt.clientId = "bench-publisher-\(getpid())"
        o.mqtt.cleanSession = true
        o.qos = qos
        o.rate = rate
        // Unacknowledged at most: libmosquitto walks its whole queue of sent messages for each
        // acknowledgement (message__release_to_inflight), so a window of 5,000 that fills while
        // the broker is busy cost the publisher half a core and slowed everything else on the
        // machine (the alert-heavy minutes of the QoS 1 run). 500 is 25 ms at 20,000 msg/s.
        o.window = 500
        o.repeats = repeats
        o.total = total
        let publisher = Publisher(options: o)
        if latency { publisher.onSent = { k, t in lock.withLock { st.sentAt[k] = t } } }
        let start = Date().timeIntervalSince1970
        var last = Date()
        let published: Publisher.Progress
        if qos == 0 && rate == nil && !latency && repeats == 1 {
            // As fast as the broker takes them: packets written straight to its socket.
            let seconds = try RawPublisher.run(port: port, positions: positions, names: names, format: .native)
            published = Publisher.Progress(published: total, acknowledged: total, total: total, reconnects: 0, elapsed: seconds)
        } else {
            published = try publisher.run(files: files.map { ($0.0, $0.1) }, limit: limit) { p in
                if Date().timeIntervalSince(last) > 5 {
                    last = Date()
                    FileHandle.standardError.write(Data("  … \(p.published) published\n".utf8))
                }
            }
        }
        let publishedAt = Date().timeIntervalSince1970
        // Wait for the receiver to have everything (or to stop making progress for 20 s).
        var done = start
        var lastCount = -1
        var stuckSince = Date()
        while true {
            let n: Int
            if let stored { n = Int(try stored.processedSeq() - baseSeq); done = Date().timeIntervalSince1970 } else {
                (n, done) = lock.withLock { (st.received, st.lastAt) }
            }
            if n >= total { break }
            if n != lastCount { lastCount = n; stuckSince = Date() }
            if Date().timeIntervalSince(stuckSince) > 20 { print("receiver stopped at \(n) of \(total)"); break }
            usleep(5_000)
        }
        let got = stored != nil ? Int(try stored!.processedSeq() - baseSeq) : lock.withLock { st.received }
        print(String(format: "published %d (%d acknowledged) at QoS %d in %.2f s: %.0f msg/s offered", published.published,
                     published.acknowledged, qos, publishedAt - start, Double(published.published) / (publishedAt - start)))
        print(String(format: "%@ received %d of %d in %.2f s: %.0f msg/s", mode, got, total, done - start, Double(got) / (done - start)))
        if latency {
            Thread.sleep(forTimeInterval: 2)
            let l = lock.withLock { st.latencies.sorted() }
            func q(_ p: Double) -> Double { l.isEmpty ? .nan : l[min(l.count - 1, Int(p * Double(l.count)))] * 1000 }
            print(String(format: "alert latency over %d alerts: p50 %.1f ms, p99 %.1f ms, max %.1f ms", l.count, q(0.5), q(0.99), (l.last ?? .nan) * 1000))
            if let latencyOut {
                let rows = lock.withLock { st.timeline }.sorted { $0.sentAt < $1.sentAt }
                let text = "sent_s,latency_ms,kind,alert_id,arrived\n" + rows.map {
                    String(format: "%.3f,%.1f,%@,%@,%.6f", $0.sentAt - start, $0.latency * 1000, $0.kind, $0.alertId, $0.sentAt + $0.latency)
                }.joined(separator: "\n") + "\n"
                try Data(text.utf8).write(to: URL(fileURLWithPath: latencyOut))
            }
        }
        counter?.stop()
        alertsClient?.stop()
    }

    /// The string value of the first `"key":"…"` in a JSON record written without spaces, or nil.
    static func field(_ key: String, in b: [UInt8]) -> String? {
        let pattern = Array("\"\(key)\":\"".utf8)
        guard b.count > pattern.count else { return nil }
        var i = 0
        while i + pattern.count <= b.count {
            if b[i] == pattern[0] && b[i..<i + pattern.count].elementsEqual(pattern) {
                let start = i + pattern.count
                guard let end = b[start...].firstIndex(of: UInt8(ascii: "\"")) else { return nil }
                return String(decoding: b[start..<end], as: UTF8.self)
            }
            i += 1
        }
        return nil
    }
}

/// What the receiving threads and the main thread share, behind `lock`.
final class LoadState: @unchecked Sendable {
    let lock = NSLock()
    var received = 0
    var lastAt = 0.0
    var sentAt: [Double] = []
    var find: (String, Millis) -> Int? = { _, _ in nil }
    var latencies: [Double] = []
    var timeline: [(sentAt: Double, latency: Double, kind: String, alertId: String)] = []
}
