import Foundation
import InspectionCore
import InspectionStore
import Metrics

/// What the daemon reports through swift-metrics (Prometheus at `/metrics` when `serve` runs):
/// messages in, positions accepted and rejected by reason, visits, alerts by kind, the ingest
/// queue, lag, the outbox and the journal. Updated by the engine's thread after each batch.
struct DaemonMetrics {
    let received = Counter(label: "iw_messages_received_total")
    let accepted = Counter(label: "iw_positions_accepted_total")
    let rejected = Dictionary(uniqueKeysWithValues: RejectReason.allCases.map {
        ($0, Counter(label: "iw_positions_rejected_total", dimensions: [("reason", $0.rawValue)]))
    })
    let visitsOpened = Counter(label: "iw_visits_opened_total")
    let visitsClosed = Counter(label: "iw_visits_closed_total")
    let alerts = Dictionary(uniqueKeysWithValues: AlertKind.allCases.map {
        ($0, Counter(label: "iw_alerts_total", dimensions: [("kind", $0.rawValue)]))
    })
    /// Late positions (SPEC §3.4) by outcome — worked in, or older than the horizon (also among
    /// the rejections as `late`) — and how late those worked in were.
    let lateReconciled = Counter(label: "iw_late_positions_total", dimensions: [("outcome", "reconciled")])
    let lateTooOld = Counter(label: "iw_late_positions_total", dimensions: [("outcome", "too_old")])
    let lateness = Metrics.Timer(label: "iw_late_position_lateness_seconds")
    /// Visits late positions superseded, and alerts withdrawn by why.
    let visitsSuperseded = Counter(label: "iw_visits_superseded_total")
    let alertsWithdrawnLate = Counter(label: "iw_alerts_withdrawn_total", dimensions: [("reason", "late_positions")])
    /// Alerts a task change or a registry reload withdrew (the engine's thread, with the command).
    static let withdrawnByTaskChange = Counter(label: "iw_alerts_withdrawn_total", dimensions: [("reason", "task_change")])
    static let withdrawnByScans = Counter(label: "iw_alerts_withdrawn_total", dimensions: [("reason", "scans")])
    /// 1 when `registry.dir` was taken (or is not set), 0 while the store's registry is served
    /// because the folder does not validate.
    static let registryDirValid = Gauge(label: "iw_registry_dir_valid")
    static let registryReloadsOK = Counter(label: "iw_registry_reloads_total", dimensions: [("outcome", "ok")])
    static let registryReloadsFailed = Counter(label: "iw_registry_reloads_total", dimensions: [("outcome", "failed")])
    /// 1 while connected to the broker.
    static let mqttConnected = Gauge(label: "iw_mqtt_connected")
    /// The running build, its version as a label (value 1), set when the daemon starts.
    static func buildInfo() { Gauge(label: "iw_build_info", dimensions: [("version", BuildInfo.version)]).record(1) }

    /// Every family created at start (a `static let` is made on first use): a scrape shows each
    /// from the first, at 0, so a dashboard's queries and alert rules see it before it moves.
    static func registerAtStart() {
        buildInfo()
        mqttConnected.record(0)
        _ = (withdrawnByTaskChange, withdrawnByScans, registryReloadsOK, registryReloadsFailed, trackersForgotten)
        registryDirValid.record(1)
        for g in [checkpointBytes, trackers, unknownTrackers, sitesOutsideFleetArea] { g.record(0) }
        _ = (alertDelay, checkpointDuration)
    }
    /// Code scans received (SPEC §3.5) by where they came from; those ignored (the same again, or
    /// another scan under a `scan_id` taken) when scans are judged.
    let scansMQTT = Counter(label: "iw_scans_received_total", dimensions: [("source", "mqtt")])
    let scansAPI = Counter(label: "iw_scans_received_total", dimensions: [("source", "api")])
    let scansIgnored = Counter(label: "iw_scans_ignored_total")
    private var lastScansIgnored = 0
    let queueDepth = Gauge(label: "iw_ingest_queue_depth")
    /// Messages the ingest queue did not hold in memory (the engine was behind): read back from the journal.
    let spilled = Counter(label: "iw_ingest_spilled_total")
    let writerDepth = Gauge(label: "iw_store_writer_batches")
    let writerFull = Counter(label: "iw_store_writer_full_total")
    /// Transactions that committed the engine's batches (several waiting batches go in one).
    let writerCommits = Counter(label: "iw_store_commits_total")
    let lag = Gauge(label: "iw_lag_seconds")
    let outbox = Gauge(label: "iw_outbox_unpublished")
    let journalSegments = Gauge(label: "iw_journal_segments")
    let checkpointSeq = Gauge(label: "iw_checkpoint_seq")
    /// The store's WAL checkpoints (`WALCheckpointer`): run, given up (busy), and the WAL's pages
    /// when the last one ran.
    let walCheckpoints = Counter(label: "iw_wal_checkpoints_total")
    let walCheckpointFailures = Counter(label: "iw_wal_checkpoint_failures_total")
    /// Those that ended with a FULL checkpoint, holding the writer back (the WAL did not start again).
    let walFullCheckpoints = Counter(label: "iw_wal_full_checkpoints_total")
    let walPages = Gauge(label: "iw_wal_pages")
    /// From receiving the message that raised an alert to the alert committed and handed to the
    /// broker connection (the store's thread records it).
    static let alertDelay = Metrics.Timer(label: "iw_alert_delay_seconds")
    /// Encoding and saving the engine's state (off the engine's thread), and its size.
    static let checkpointDuration = Metrics.Timer(label: "iw_checkpoint_seconds")
    static let checkpointBytes = Gauge(label: "iw_checkpoint_bytes")
    /// Trackers with state in the engine, registered or not, and unknown ones forgotten after a
    /// quiet `late_horizon` (taken with each checkpoint).
    static let trackers = Gauge(label: "iw_trackers", dimensions: [("registered", "true")])
    static let unknownTrackers = Gauge(label: "iw_trackers", dimensions: [("registered", "false")])
    static let trackersForgotten = Counter(label: "iw_unknown_trackers_forgotten_total")
    /// Sites over 50 km from every registered vehicle's newest position (most of them: a registry
    /// with lat and lon swapped).
    static let sitesOutsideFleetArea = Gauge(label: "iw_sites_outside_fleet_area")

    static func committed(_ batch: StoreBatch, now: Millis) {
        for (_, _, receivedAt) in batch.alerts where receivedAt > 0 {
            alertDelay.recordMilliseconds(max(0, now - receivedAt))
        }
    }

    private var lastCounts = RejectCounts()
    private var lastAccepted = 0
    private var lastSpilled = 0
    private var lastWriterFull = 0
    private var lastCommits = 0
    private var lastWALRuns = 0
    private var lastWALFailures = 0
    private var lastWALFulls = 0

    init(engine: Engine) {
        lastCounts = engine.counts
        lastAccepted = engine.accepted
    }

    mutating func batch(_ entries: [JournalEntry], _ batch: StoreBatch, engine: Engine, now: Millis, scansIgnored ignored: Int = 0) {
        for s in batch.scans { (s.source == "api" ? scansAPI : scansMQTT).increment() }
        Self.advance(scansIgnored, to: ignored, from: &lastScansIgnored)
        if !entries.isEmpty {
            received.increment(by: entries.count)
            lag.record(Double(now - entries.last!.receivedAt) / 1000)
        }
        Self.advance(accepted, to: engine.accepted, from: &lastAccepted)
        if engine.counts != lastCounts {
            for r in RejectReason.allCases where engine.counts[r] > lastCounts[r] {
                rejected[r]!.increment(by: engine.counts[r] - lastCounts[r])
            }
            if engine.counts[.late] > lastCounts[.late] { lateTooOld.increment(by: engine.counts[.late] - lastCounts[.late]) }
            lastCounts = engine.counts
        }
        for v in batch.visits { if v.end == nil { visitsOpened.increment() } else { visitsClosed.increment() } }
        for (a, _, _) in batch.alerts { alerts[a.kind]!.increment() }
        for r in batch.reconciliations {
            if r.positions > 0 { lateReconciled.increment(by: r.positions) }
            for l in r.lateBy { lateness.recordMilliseconds(l) }
            if !r.superseded.isEmpty { visitsSuperseded.increment(by: r.superseded.count) }
            if !r.withdrawn.isEmpty {
                (r.cause == .scans ? Self.withdrawnByScans : alertsWithdrawnLate).increment(by: r.withdrawn.count)
            }
            for a in r.raised { alerts[a.kind]!.increment() }
        }
    }

    /// A counter following a running total kept elsewhere: what it grew by since `last`.
    private static func advance(_ counter: Counter, to total: Int, from last: inout Int) {
        if total > last { counter.increment(by: total - last); last = total }
    }

    mutating func state(queue: IngestQueue, journal: JournalFile, unpublished: Int, checkpointSeq seq: Int64,
                        writer: (items: Int, fullWaits: Int, commits: Int),
                        wal: WALCheckpoints?) {
        queueDepth.record(queue.depth)
        writerDepth.record(writer.items)
        Self.advance(writerFull, to: writer.fullWaits, from: &lastWriterFull)
        Self.advance(writerCommits, to: writer.commits, from: &lastCommits)
        Self.advance(spilled, to: queue.spilledCount, from: &lastSpilled)
        outbox.record(unpublished)
        journalSegments.record(journal.segmentCount)
        checkpointSeq.record(Double(seq))
        if let wal {
            Self.advance(walCheckpoints, to: wal.runs, from: &lastWALRuns)
            Self.advance(walCheckpointFailures, to: wal.failures, from: &lastWALFailures)
            Self.advance(walFullCheckpoints, to: wal.fulls, from: &lastWALFulls)
            walPages.record(wal.walFrames)
        }
    }
}
