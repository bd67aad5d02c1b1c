import Foundation
import InspectionCore
import InspectionMQTT

/// `inspection-sim publish`: trace files to MQTT as trackers would send them, in time order, at a
/// multiple of real time or as fast as the broker takes them, with at most `window` messages
/// unacknowledged (QoS 1) or unsent (QoS 0) at a time. A broker that goes away is waited for:
/// libmosquitto reconnects, and a message it could not take is offered again.
public final class Publisher: @unchecked Sendable {
    public struct Options: Sendable {
        public var mqtt = MQTTSettings()
        public var format: PayloadFormat = .native
        /// Times real time; nil is as fast as possible.
        public var speed: Double?
        /// A steady rate in messages per second instead (timestamps only order the messages).
        public var rate: Double?
        /// Publish the traces this many times, each pass shifted later by their span plus a day
        /// (a long load from a short scenario).
        public var repeats = 1
        /// Stop after this many messages in all.
        public var total = Int.max
        public var qos: Int32 = 1
        public var window = 1000
        /// Share of payloads garbled on the way (a broken tracker or gateway), seeded.
        public var corrupt = 0.0
        public var seed: UInt64 = 1
        /// Publish in the files' own line order (keeps delays and reordering planted in them);
        /// otherwise in time order.
        public var fileOrder = false
        /// Share of vehicle-days with an outage (`BlindZones`): its fixes are held and sent after the
        /// first live fix that follows — in `jt808` as 0x0704 blind-zone batches of at most
        /// `batchItems`, in the other formats as late single messages in time order.
        public var blindZone = 0.0
        public var batchItems = 50
        /// Code scans (SPEC §3.5), each sent as JSON on `scans/<agency_id>` once the positions
        /// have reached its time plus `scanDelay` (scans reach the office later than positions);
        /// those later than every position go at the end. Sent in the first pass only.
        public var scans: [Scan] = []
        public var scanDelay: Millis = 3_600_000
        /// How long the first connection may take before the run gives up (a broker never reached
        /// is an error, not a progress bar at 0 %).
        public var connectTimeout: Double = 30
        public init() {}
    }

    public struct Progress: Sendable {
        public var published: Int
        public var acknowledged: Int
        public var total: Int
        public var reconnects: Int
        public var elapsed: Double
        public var corrupted = 0

        public init(published: Int, acknowledged: Int, total: Int, reconnects: Int, elapsed: Double, corrupted: Int = 0) {
            self.published = published; self.acknowledged = acknowledged; self.total = total
            self.reconnects = reconnects; self.elapsed = elapsed; self.corrupted = corrupted
        }
    }

    let options: Options
    private let lock = NSLock()
    private var acked = 0
    private var outstanding = Set<Int32>()
    private var connected = false
    private var everConnected = false
    private var reconnects = 0
    private var refusal: String?

    public init(options: Options) { self.options = options }

    /// Called after each message is handed to libmosquitto: its position in the trace (time order)
    /// and the wall-clock time, for latency measurements.
    public var onSent: ((Int, Double) -> Void)?

    /// The positions of trace files in the order `run` publishes them, and the vehicle names.
    public static func load(_ files: [(name: String, bytes: [UInt8])], fileOrder: Bool = false) throws -> ([Position], [String]) {
        var batch = TraceBatch()
        for (name, bytes) in files {
            try bytes.withUnsafeBufferPointer { buf in
                let format = TraceFormat.detect(path: name, firstBytes: UnsafeBufferPointer(rebasing: buf.prefix(64)))
                try TraceParser.parse(buf, format: format, file: name, into: &batch)
            }
        }
        var positions = batch.positions
        if !fileOrder { _ = Engine.orderByTime(&positions) }
        return (positions, (0..<batch.vehicles.count).map { batch.vehicles.string(Int32($0)) })
    }

    /// Publishes the positions of the trace files; `report` is called about twice a second.
    /// `problem`: what goes wrong reaching the broker, said at once (then the run retries until
    /// `connectTimeout`).
    public func run(files: [(name: String, bytes: [UInt8])], limit: Int = Int.max, problem: (String) -> Void = { _ in },
                    report: (Progress) -> Void) throws -> Progress {
        var (positions, names) = try Self.load(files, fileOrder: options.fileOrder)
        if positions.count > limit { positions.removeLast(positions.count - limit) }
        let messages = Self.messages(positions, options: options)
        var rng = SplitMix64(seed: options.seed)
        var corrupted = 0

        // A write to a socket the broker just closed must be an error to handle, not SIGPIPE's death.
        signal(SIGPIPE, SIG_IGN)
        var settings = options.mqtt
        settings.maxInflight = UInt32(max(1, options.window))
        let client = try MQTTClient(settings: settings, onMessage: { _ in }, onEvent: { [self] e in
            lock.withLock {
                switch e {
                case .connected: if everConnected { reconnects += 1 }; everConnected = true; connected = true
                case .disconnected: connected = false
                // Refused before ever connecting: wrong address or credentials, give up. Refused on a
                // reconnect (a broker still starting up): keep trying.
                case .refused(let why): if !everConnected { refusal = why }
                // Only messages whose publish returned: libmosquitto may still deliver one whose publish
                // reported a broken connection (it stays in its queue), and that one is sent again here.
                case .published(let mid): if outstanding.remove(mid) != nil { acked += 1 }
                case .error: break  // a connection that fails is retried like a refused one
                }
            }
        })
        // No network thread: each message is written from this thread as it is published (the
        // hand-over to libmosquitto's thread costs a wake-up per message), the connection pumped here.
        var down = false
        var lastAttempt = Date.distantPast
        func keepUp(_ wait: Int32) {
            if !down, client.pump(timeoutMs: wait) != 0 {
                down = true
                lock.withLock { connected = false }
            }
            if down, Date().timeIntervalSince(lastAttempt) > 0.5 {
                lastAttempt = Date()
                if client.reconnect() == 0 { down = false }  // the connect callback counts it
                else { usleep(UInt32(max(1, wait)) * 1000) }
            }
        }
        let trying = Date()
        var said = false
        while true {
            do { try client.connectInline(); break } catch {
                if let why = lock.withLock({ refusal }) { throw SimError("the broker refused the connection: \(why)") }
                let broker = "\(settings.host):\(settings.port)"
                if Date().timeIntervalSince(trying) >= options.connectTimeout {
                    throw SimError("cannot reach the broker at \(broker) for \(Int(options.connectTimeout)) s: \(error)")
                }
                if !said { said = true; problem("cannot reach the broker at \(broker) (\(error)); trying for \(Int(options.connectTimeout)) s") }
            }
            report(Progress(published: 0, acknowledged: 0, total: positions.count, reconnects: 0, elapsed: 0))
            usleep(500_000)
        }
        while !lock.withLock({ connected }) {
            keepUp(10)
            if let why = lock.withLock({ refusal }) { throw SimError("the broker refused the connection: \(why)") }
        }
        defer { client.disconnectInline() }
        let start = Date()
        var lastReport = 0.0
        var topic: [UInt8] = [], payload: [UInt8] = []
        let ts0 = positions.first?.ts ?? 0
        let shift = ((positions.map(\.ts).max() ?? 0) - ts0) + Timestamp.msPerDay
        var latest = ts0
        var sent = 0
        func progress() -> Progress {
            lock.withLock { Progress(published: sent, acknowledged: acked, total: min(options.total, messages.count * options.repeats) + options.scans.count,
                                     reconnects: reconnects,
                                     elapsed: Date().timeIntervalSince(start), corrupted: corrupted) }
        }
        // Scans in the order they become due; `nextScan` is the first not yet sent.
        let scans = options.scans.sorted { $0.at != $1.at ? $0.at < $1.at : byteOrder($0.scanId, $1.scanId) }
        var nextScan = 0
        func send(topic: [UInt8], payload: [UInt8]) throws {
            while true {
                let (outstanding, up, refused) = lock.withLock { (sent - acked, connected, refusal) }
                if let refused { throw SimError("the broker refused the connection: \(refused)") }
                if up && outstanding < options.window, let mid = try? client.publish(topic: topic, payload: payload, qos: options.qos) {
                    // QoS 0 has no acknowledgement: handed over is done.
                    lock.withLock { if options.qos > 0 { self.outstanding.insert(mid) } else { acked += 1 } }
                    break
                }
                keepUp(up ? 1 : 20)
                if Date().timeIntervalSince(start) - lastReport > 0.5 { lastReport = Date().timeIntervalSince(start); report(progress()) }
            }
            sent += 1
        }
        func sendScans(through t: Millis) throws {
            while nextScan < scans.count, scans[nextScan].at + options.scanDelay <= t {
                try send(topic: Array("scans/\(scans[nextScan].agencyId)".utf8), payload: scans[nextScan].json.bytes)
                nextScan += 1
            }
        }
        passes: for pass in 0..<max(1, options.repeats) {
        for (k0, message) in messages.enumerated() {
            let k = pass * messages.count + k0
            if k >= options.total { break passes }
            var p = positions[message.positions[0]]
            p.ts += Millis(pass) * shift
            if pass == 0 { try sendScans(through: p.ts) }
            if let rate = options.rate {
                let wait = Double(k) / rate - Date().timeIntervalSince(start)
                if wait > 0.0005 { Thread.sleep(forTimeInterval: wait) }
            } else if let speed = options.speed {
                latest = max(latest, p.ts)  // in file order, a delayed line goes out at once
                let due = Double(latest - ts0) / 1000 / speed
                let wait = due - Date().timeIntervalSince(start)
                if wait > 0 { Thread.sleep(forTimeInterval: wait) }
            }
            if message.batch {
                PayloadEncoder.encodeJT808Batch(vehicle: names[Int(p.vehicle)], fixes: message.positions.map { i in
                    let q = positions[i]
                    return (q.ts + Millis(pass) * shift, q.lat, q.lon, q.speedKmh)
                }, topic: &topic, payload: &payload)
            } else {
                PayloadEncoder.encode(options.format, vehicle: names[Int(p.vehicle)], ts: p.ts, lat: p.lat, lon: p.lon,
                                      speedKmh: p.speedKmh, topic: &topic, payload: &payload)
            }
            if options.corrupt > 0 && rng.unit() < options.corrupt {
                Self.garble(&payload, &rng)
                corrupted += 1
            }
            try send(topic: topic, payload: payload)
            onSent?(k, Date().timeIntervalSince1970)
            if sent & 63 == 0 { keepUp(0) }
            if sent & 1023 == 0, Date().timeIntervalSince(start) - lastReport > 0.5 {
                lastReport = Date().timeIntervalSince(start)
                report(progress())
            }
        }
        }
        try sendScans(through: .max)
        // Every message handed over: wait (up to a minute without progress) for the broker to take the rest.
        var lastAcked = -1, stuckSince = Date()
        while true {
            let a = lock.withLock { acked }
            if a >= sent { break }
            if a != lastAcked { lastAcked = a; stuckSince = Date() }
            if Date().timeIntervalSince(stuckSince) > 60 { break }
            keepUp(2)
            if Date().timeIntervalSince(start) - lastReport > 0.5 { lastReport = Date().timeIntervalSince(start); report(progress()) }
        }
        return progress()
    }

    /// The messages to send, each the positions it carries (indices, in sending order): one each,
    /// or with blind zones, the held fixes of an outage after the live fix that follows it — in
    /// `jt808` batched (0x0704, at most `batchItems` a message), otherwise one late message each.
    public static func messages(_ positions: [Position], options: Options) -> [(positions: [Int], batch: Bool)] {
        guard options.blindZone > 0 else { return positions.indices.map { ([$0], false) } }
        let zones = BlindZones(share: options.blindZone, seed: options.seed)
        let arrivals = zones.arrivals(vehicle: positions.map(\.vehicle), ts: positions.map(\.ts), calendar: .shanghai)
        var out: [(positions: [Int], batch: Bool)] = []
        var k = 0
        while k < arrivals.count {
            let a = arrivals[k]
            guard a.held, options.format == .jt808 else { out.append(([a.index], false)); k += 1; continue }
            var group = [a.index]
            k += 1
            while k < arrivals.count, arrivals[k].held, arrivals[k].outage == a.outage, group.count < max(1, options.batchItems) {
                group.append(arrivals[k].index)
                k += 1
            }
            out.append((group, true))
        }
        return out
    }

    /// Breaks a payload the ways real ones break: cut short, a byte flipped to garbage, or emptied.
    static func garble(_ payload: inout [UInt8], _ rng: inout SplitMix64) {
        switch rng.next() % 3 {
        case 0: payload.removeLast(max(1, payload.count / 2))
        case 1: payload[Int(rng.next() % UInt64(payload.count))] = 0xff
        default: payload.removeAll()
        }
    }
}
