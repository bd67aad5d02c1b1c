import InspectionConfig
import InspectionCore
import InspectionStore

/// Turns journal entries (messages as received) into store writes: decode by the subscription's
/// format, the checks only a live feed has (a clock ahead of the receive time), the engine, and
/// the records. Deterministic in the entries alone, so processing the journal after the last
/// checkpoint again after a restart rebuilds the same state and writes the same ids.
public struct JournalProcessor {
    public private(set) var engine: Engine
    let subscriptions: [DaemonSettings.Subscription]
    let topicVehicles: [TopicVehicle]
    let alertPrefix: String
    let maxFuture: Millis
    public private(set) var lastSeq: Int64 = 0
    /// Entries up to this one were written before a restart: their dead letters and late positions
    /// are in the store already (visits and alerts are idempotent by id anyway).
    public var writtenThrough: Int64 = 0
    private var out = EngineOutput()
    /// The newest position time processed: with the receive clock, what judges scans (§3.5).
    private var newestPosition: Millis = .min
    /// The journal's "subscription" of scans posted through the API (`Daemon.submitScan`).
    public static let apiScans = Int(UInt16.max)

    /// A fresh engine, or one resumed from a checkpoint taken after entry `seq`.
    public init(registry: Registry, settings: EngineSettings, daemon: DaemonSettings,
                resuming: (seq: Int64, state: EngineCheckpoint)? = nil) {
        if let r = resuming {
            var closed = EngineOutput()
            engine = Engine(registry: registry, settings: settings, restoring: r.state, evidence: true, lateHorizon: true, into: &closed)
            out = closed
            lastSeq = r.seq
        } else {
            engine = Engine(registry: registry, settings: settings, evidence: true, lateHorizon: true)
        }
        subscriptions = daemon.subscriptions
        topicVehicles = daemon.subscriptions.map { TopicVehicle(filter: $0.filter) }
        // Scans judged: kept across restarts in the checkpoint; not judged: none kept.
        engine.scanJudge = daemon.scansJudged ? (engine.scanJudge ?? ScanJudge()) : nil
        alertPrefix = daemon.alertTopicPrefix
        maxFuture = settings.maxFuture
    }

    public mutating func process(_ entries: [JournalEntry]) -> StoreBatch {
        var batch = StoreBatch()
        if !out.isEmpty { drain(into: &batch) }  // stays a restore ended
        var clock = Millis.min
        for e in entries {
            lastSeq = e.seq
            clock = max(clock, e.receivedAt)
            let replayed = e.seq <= writtenThrough
            if e.subscription == Self.apiScans || (e.subscription < subscriptions.count && subscriptions[e.subscription].scans) {
                scan(e, source: e.subscription == Self.apiScans ? "api" : "mqtt", replayed: replayed, into: &batch)
                continue
            }
            let sub = e.subscription >= 0 && e.subscription < subscriptions.count ? e.subscription : 0
            let format = subscriptions[sub].format
            let decoded = e.payload.withUnsafeBufferPointer {
                PayloadDecoder.decode(format, payload: $0, topicVehicle: topicVehicles[sub].vehicle(in: e.topic, format: format))
            }
            switch decoded {
            case .failure(let err):
                reject(err, e, replayed: replayed, into: &batch)
            case .success(.position(let p)):
                process([p], e, replayed: replayed, into: &batch)
            case .success(let message):
                // A batch (JT/T 808 0x0704): each item stands alone, a bad one is dead-lettered by
                // itself; the good ones (one terminal's) go to the engine together.
                var good: [NativePayload] = []
                for item in message.items {
                    switch item {
                    case .success(let p): good.append(p)
                    case .failure(let err): reject(err, e, replayed: replayed, into: &batch)
                    }
                }
                if !good.isEmpty { process(good, e, replayed: replayed, into: &batch) }
            }
        }
        if !entries.isEmpty { judgeScans(now: max(clock, newestPosition), into: &batch) }
        batch.processedSeq = entries.last?.seq
        return batch
    }

    /// A code scan (SPEC §3.5): validated by the code every path shares, stored with where it
    /// came from; when scans are judged, the judge takes it (it may withdraw alerts).
    private mutating func scan(_ e: JournalEntry, source: String, replayed: Bool, into batch: inout StoreBatch) {
        let parsed: Scan
        do { parsed = try ScanFields.scan(json: e.payload) } catch {
            reject(PayloadError(ScanFields.rejectReason(error), "scan: \(error.field): \(error.message)"), e, replayed: replayed, into: &batch)
            return
        }
        let added = engine.scanJudge?.add(parsed, registry: engine.registry, settings: engine.settings)
        if !replayed { batch.scans.append((parsed, source, e.receivedAt)) }
        if added == .duplicate || added == .conflict { scansIgnored += 1 }
    }

    /// Trackers no vehicle in the registry names, quiet for `late_horizon` by the positions'
    /// time, forgotten (before each checkpoint: the checkpoint then holds what a restart resumes
    /// from, so processing the journal after it again gives the same). How many.
    public mutating func forgetQuietTrackers() -> Int {
        guard newestPosition > .min else { return 0 }
        return engine.forgetQuietUnknownTrackers(quietBefore: newestPosition - engine.settings.lateHorizon)
    }

    /// Scans that were duplicates or conflicts (ignored).
    public private(set) var scansIgnored = 0

    /// The occasions due at `now` judged, and the withdrawals scans and changed visits decided,
    /// as changes of alerts written after the rest of the batch.
    private mutating func judgeScans(now: Millis, into batch: inout StoreBatch) {
        guard var judge = engine.scanJudge else { return }
        let d = judge.judge(now: now, eventTime: newestPosition, registry: engine.registry, settings: engine.settings)
        engine.scanJudge = judge
        guard !d.isEmpty else { return }
        for var r in Reconciliation.scans(d, at: now) {
            r.raised = r.raised.map(Self.withRawDetail)
            batch.reconciliations.append(r)
        }
    }

    /// Where the store's imported scans were taken through (nil: scans are not judged).
    public var importedScansThrough: Int64? { engine.scanJudge?.importedThrough }

    /// The scans judged by the clock alone, when no message came (the daemon's idle passes),
    /// after taking the scans imported into the store since the last pass.
    public mutating func judgeScans(now: Millis, imported: [(row: Int64, scan: Scan)] = []) -> StoreBatch {
        var batch = StoreBatch()
        if var judge = engine.scanJudge {
            for (row, scan) in imported {
                judge.add(scan, registry: engine.registry, settings: engine.settings)
                judge.importedThrough = max(judge.importedThrough, row)
            }
            engine.scanJudge = judge
        }
        judgeScans(now: max(now, newestPosition), into: &batch)
        return batch
    }

    /// A payload, or one item of it, that did not decode: counted, and dead-lettered once.
    private mutating func reject(_ err: PayloadError, _ e: JournalEntry, replayed: Bool, into batch: inout StoreBatch) {
        engine.count(err.reason)
        if !replayed { batch.deadLetters.append((e.receivedAt, e.topic, err.reason, err.message, e.payload)) }
    }

    /// The decoded positions of entry `e` (one, or a terminal's batch): the live feed's clock
    /// check, the engine (a batch's late ones worked in together), the records.
    private mutating func process(_ payloads: [NativePayload], _ e: JournalEntry, replayed: Bool, into batch: inout StoreBatch) {
        var positions: [Position] = []
        positions.reserveCapacity(payloads.count)
        for p in payloads {
            if p.ts > e.receivedAt + maxFuture {
                engine.count(.future)
                if !replayed {
                    batch.deadLetters.append((e.receivedAt, e.topic, .future,
                                              "ts \(Timestamp.formatUTC(p.ts)) is ahead of the receive clock", e.payload))
                }
                continue
            }
            newestPosition = max(newestPosition, p.ts)
            let v = p.vehicle.withUnsafeBufferPointer { engine.vehicleNumber(bytes: $0) }
            positions.append(Position(vehicle: v, ts: p.ts, lat: p.lat, lon: p.lon, speedKmh: p.speedKmh,
                                      heading: p.heading, accuracyM: p.accuracyM))
        }
        let results: [Engine.Result]
        if positions.count == 1 {
            results = [engine.ingest(positions[0], into: &out)]
        } else if positions.allSatisfy({ $0.vehicle == positions.first?.vehicle }) {
            results = engine.ingest(sameVehicle: positions, into: &out)
        } else {
            results = positions.map { engine.ingest($0, into: &out) }
        }
        for (p, r) in zip(positions, results) where !replayed {
            switch r {
            case .rejected(.late):
                batch.latePositions.append((engine.vehicleId(p.vehicle), p.ts, p.lat, p.lon, e.receivedAt))
            case .rejected(let r) where r.isDeadLetter:
                batch.deadLetters.append((e.receivedAt, e.topic, r, "position rejected: \(r.rawValue)", e.payload))
            default: break
            }
        }
        if !out.isEmpty { drain(into: &batch, receivedAt: e.receivedAt, replayed: replayed) }
    }

    /// A reloaded registry: open stays follow their sites; what ends is written.
    public mutating func replaceRegistry(_ registry: Registry) -> StoreBatch {
        var batch = StoreBatch()
        engine.replaceRegistry(registry, into: &out)
        if !out.isEmpty { drain(into: &batch) }
        return batch
    }

    /// Changes the engine through `body` on a copy, taken only if `body` returns (a command
    /// whose store write failed leaves the engine as it was).
    mutating func withEngine<T>(_ body: (inout Engine) throws -> T) rethrows -> T {
        var copy = engine
        let result = try body(&copy)
        engine = copy
        return result
    }

    /// `replayed`: the entry was written before a restart — a reconciliation it made is in the
    /// store already (written again, its status changes would be doubled in the history).
    private mutating func drain(into batch: inout StoreBatch, receivedAt: Millis = 0, replayed: Bool = false) {
        if engine.scanJudge != nil { feedScanJudge() }
        batch.evidence += out.evidence
        if !batch.reconciliations.isEmpty {
            // After a reconciliation in this batch, what follows is written after it.
            for v in out.opened + out.closed { batch.reconciliations[batch.reconciliations.count - 1].absorb(visit: v, alerts: []) }
            batch.reconciliations[batch.reconciliations.count - 1].absorb(visit: nil, alerts: out.alerts.map(Self.withRawDetail))
        } else {
            batch.visits += out.opened
            batch.visits += out.closed
            for a in out.alerts {
                batch.alerts.append((Self.withRawDetail(a), Store.alertTopic(prefix: alertPrefix, a), receivedAt))
            }
        }
        if !replayed {
            for var r in out.reconciliations {
                r.raised = r.raised.map(Self.withRawDetail)
                r.updated = r.updated.map(Self.withRawDetail)
                batch.reconciliations.append(r)
            }
        }
        out.removeAll()
    }

    /// What the engine said of visits, to the scan judge: opened, closed, changed, superseded,
    /// re-assigned (late positions).
    private mutating func feedScanJudge() {
        guard var judge = engine.scanJudge else { return }
        for v in out.opened { judge.visit(v) }
        for v in out.closed { judge.visit(v) }
        for r in out.reconciliations {
            for (id, _) in r.superseded { judge.remove(visitId: id) }
            for v in r.visits { judge.visit(v) }
            for (id, a) in r.assignments { judge.assign(visitId: id, a) }
        }
        engine.scanJudge = judge
    }

    /// The detail as text, on this thread: writing it on the store's thread, where a burst's
    /// alerts wait for each other, showed in its profile.
    static func withRawDetail(_ a: AlertRecord) -> AlertRecord {
        var a = a
        a.detail = a.detail.asRaw
        return a
    }
}
