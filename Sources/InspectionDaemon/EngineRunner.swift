import Dispatch
import Foundation
import InspectionCore
import InspectionStore
import Logging
import NIOConcurrencyHelpers

/// The engine's thread: takes batches from the ingest queue, processes them, hands them to the
/// store's writer, and carries out what `EngineLoop` decides after each (the re-match at start,
/// task changes and reloads, the engine's checkpoint, the state for metrics and `/health`, the
/// end). The processor (and the engine in it) is this thread's alone.
/// `@unchecked Sendable`: `processor`, `rematchAtStart` and `metrics` are touched only by
/// `prepare` (before the thread starts) and `run` (on it).
final class EngineRunner: @unchecked Sendable {
    private let daemon: Daemon
    private var processor: JournalProcessor
    private let executor: CommandExecutor
    private let journal: JournalFile
    private let queue: IngestQueue
    private let writer: StoreWriter
    /// The last sequence number the journal held at start: caught up once past it.
    private let backlogThrough: Int64
    /// Enterprises whose tasks changed in the files while the daemon was down.
    private var rematchAtStart: Set<String>
    private var rematchedAtStart = false
    private let stateSaver = EngineStateSaver()
    private let checkpointSeq: NIOLockedValueBox<Int64>
    /// Each thread that writes the journal says it works again only after it saw it fail.
    private var flushFailed = false
    /// Rejected payloads said in the log, rate-limited (SPEC §3.3).
    private var rejectLog = RejectLog()

    init(daemon: Daemon, processor: JournalProcessor, executor: CommandExecutor, journal: JournalFile, queue: IngestQueue,
         writer: StoreWriter, backlogThrough: Int64, rematchAtStart: Set<String>) {
        self.daemon = daemon
        self.processor = processor
        self.executor = executor
        self.journal = journal
        self.queue = queue
        self.writer = writer
        self.backlogThrough = backlogThrough
        self.rematchAtStart = rematchAtStart
        checkpointSeq = NIOLockedValueBox(processor.lastSeq)
    }

    private var logger: Logger { daemon.logger }

    /// Before anything runs: with nothing to read again (a clean stop), the visits at enterprises
    /// whose tasks changed are matched again before anything is received or served.
    func prepare() {
        if !rematchAtStart.isEmpty && processor.lastSeq >= backlogThrough { rematchedAtStart = rematchStarting() }
    }

    /// The re-match of `rematchAtStart`; true if it was done.
    private func rematchStarting() -> Bool {
        let changed = rematchAtStart
        rematchAtStart = []
        do {
            let r = try executor.rematchChanged(changed, processor: &processor, actor: "serve", reason: "tasks changed in registry.dir")
            daemon.feed.publish(r)
            if r.visitsChanged + r.raised.count + r.withdrawn.count + r.reopened.count > 0 {
                logger.notice("visits matched again", metadata: ["iw.enterprises": "\(changed.count)", "iw.visits_changed": "\(r.visitsChanged)",
                                                                "iw.alerts_raised": "\(r.raised.count)", "iw.alerts_withdrawn": "\(r.withdrawn.count)",
                                                                "iw.alerts_reopened": "\(r.reopened.count)"])
            }
            return true
        } catch {
            logger.error("visits not matched again after the tasks changed", metadata: ["iw.error": "\(error)"])
            return false
        }
    }

    /// QoS 0 messages buffered for the journal: if they cannot be written they are still
    /// processed (the broker promised nothing for them).
    private func flushJournal() {
        do {
            try journal.flush()
            if flushFailed { flushFailed = false; daemon.faults.recovered(.journal) }
        } catch {
            flushFailed = true
            daemon.faults.failed(.journal, error, consequence: "QoS 0 messages are not kept")
        }
    }

    static func monotonic() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

    /// The loop, until `Daemon.stop`: then what memory holds is processed and committed, the
    /// engine's checkpoint saved, and commands refused from then on.
    func run() {
        let faults = daemon.faults, stopping = daemon.stopping
        // A re-match at start changed the engine's occasions: the first pass checkpoints them.
        var loop = EngineLoop(now: Self.monotonic(), checkpointInterval: Double(daemon.configuration.daemon.checkpointInterval) / 1000,
                              rematchPending: !rematchAtStart.isEmpty, checkpointFirst: rematchedAtStart,
                              judgesScans: daemon.configuration.daemon.scansJudged)
        var metrics = DaemonMetrics(engine: processor.engine)
        daemon.engineAlive.set(Self.monotonic())
        daemon.started.partStarted()
        while true {
            // Up to 10 ms more to gather a batch: one transaction for many messages, well inside
            // the 100 ms an alert may take.
            let entries: [JournalEntry]
            do {
                entries = try queue.take(max: 5000, until: Date().addingTimeInterval(0.2), gather: 0.01)
                faults.recovered(.journalRead)
            } catch {
                faults.failed(.journalRead, error, consequence: "messages wait in the journal; reading it is tried again")
                entries = []
                if !stopping.get() { Thread.sleep(forTimeInterval: 1) }
            }
            let finishing = stopping.get()
            flushJournal()
            var batch = processor.process(entries)
            logRejections(batch)
            let now = Millis(Date().timeIntervalSince1970 * 1000)
            metrics.batch(entries, batch, engine: processor.engine, now: now, scansIgnored: processor.scansIgnored)
            if let last = entries.last { daemon.healthState.withLockedValue { $0.lagSeconds = Double(now - last.receivedAt) / 1000 } }
            if finishing {
                // MQTT ingest stopped before this (the services stop in reverse order): what
                // memory holds is processed; what only the journal holds (the engine was behind)
                // waits there for the next start.
                var rest = (try? queue.take(max: 5000, until: Date(), journal: false)) ?? []
                while !rest.isEmpty {
                    writer.submit(batch)
                    batch = processor.process(rest)
                    rest = (try? queue.take(max: 5000, until: Date(), journal: false)) ?? []
                }
            }
            // The store cannot write and the daemon is stopping: the journal has every message,
            // a restart processes them again.
            guard writer.submit(batch) else { break }
            // Task changes and reloads, in the order they came, once what came before is in the
            // store (a re-match reads the visits). The journal before this point was read under
            // the old tasks: the checkpoint that follows means a restart never reads it again
            // under the new ones.
            let pendingCommands = daemon.commands.takeAll()
            let runs = loop.batchDone(.init(now: Self.monotonic(), finishing: finishing,
                                            caughtUp: processor.lastSeq >= backlogThrough || queue.depth == 0,
                                            commandsWaiting: !pendingCommands.isEmpty))
            for run in runs {
                switch run {
                case .rematchAtStart:
                    guard writer.drain() else { continue }
                    let changed = rematchStarting()
                    if changed { writer.poke() }  // alerts in the outbox; occasions changed
                    loop.rematchDone(changed: changed)
                case .commands:
                    guard writer.drain() else {
                        for (_, reply) in pendingCommands { reply?(.failure(.failed("the store cannot write"))) }
                        continue
                    }
                    for (command, reply) in pendingCommands {
                        let result = execute(command)
                        if case .success = result { loop.commandSucceeded() }
                        reply?(result)
                    }
                    writer.poke()  // their alerts are in the outbox
                }
            }
            var stop = false
            for action in loop.rest(now: Self.monotonic()) {
                switch action {
                case .judgeScans: judgeScansByClock()
                case .checkpoint(let waited): checkpoint(waited: waited)
                case .reportState: reportState(&metrics)
                case .stop: stop = true
                }
            }
            if stop { break }
        }
        daemon.commands.close()
        daemon.feed.finish()
        logger.notice("engine stopped", metadata: ["iw.checkpoint_seq": "\(processor.lastSeq)", "iw.spilled": "\(queue.spilledCount)",
                                                   "iw.waiting_in_journal": "\(queue.depth)"])
    }

    /// The occasions due by the clock judged for code scans, after taking the scans `import
    /// --scans` put in the store meanwhile.
    private func judgeScansByClock() {
        var imported: [(row: Int64, scan: Scan)] = []
        if let through = processor.importedScansThrough {
            do { imported = try daemon.store.importedScans(after: through) } catch {
                daemon.faults.failed(.store, error, consequence: "imported scans wait in the store")
            }
        }
        let judged = processor.judgeScans(now: Millis(Date().timeIntervalSince1970 * 1000), imported: imported)
        if !judged.isEmpty { writer.submit(judged) }
    }

    /// A task change or reload, logged and published to the live feed.
    private func execute(_ command: Command) -> Result<CommandResult, CommandError> {
        let result = executor.execute(command, processor: &processor)
        switch result {
        case .success(let r):
            daemon.feed.publish(r.rematch)
            DaemonMetrics.withdrawnByTaskChange.increment(by: r.rematch.withdrawn.count)
            if let reg = r.registry {
                DaemonMetrics.registryReloadsOK.increment()
                logger.notice("registry reloaded", metadata: ["iw.sites": "\(reg.sites)", "iw.vehicles": "\(reg.vehicles)", "iw.tasks": "\(reg.tasks)",
                                                             "iw.alerts_raised": "\(r.rematch.raised.count)", "iw.alerts_withdrawn": "\(r.rematch.withdrawn.count)"])
            }
            if let t = r.task {
                logger.notice("task changed", metadata: ["iw.task": "\(t.task.id)", "iw.by": "\(t.updatedBy)", "iw.status": "\(t.task.status.rawValue)",
                                                        "iw.visits_rematched": "\(r.rematch.visitsChanged)", "iw.alerts_raised": "\(r.rematch.raised.count)",
                                                        "iw.alerts_withdrawn": "\(r.rematch.withdrawn.count)"])
            }
        case .failure(let e):
            if case .reload = command {
                DaemonMetrics.registryReloadsFailed.increment()
                logger.error("registry not reloaded; the previous one stays", metadata: ["iw.error": "\(e)"])
            }
        }
        return result
    }

    /// A checkpoint follows the outputs it covers: it is taken once the writer has committed
    /// them. It is encoded and written off both threads (the engine is a value: the copy taken
    /// here is the state after `lastSeq`, whatever comes next). `waited`: now, before going on.
    private func checkpoint(waited: Bool) {
        flushJournal()
        DaemonMetrics.trackersForgotten.increment(by: processor.forgetQuietTrackers())
        let engine = processor.engine, seq = processor.lastSeq
        let trackers = engine.trackers
        DaemonMetrics.trackers.record(trackers.all - trackers.unknown)
        DaemonMetrics.unknownTrackers.record(trackers.unknown)
        notePlacement(engine.sitesOutsideFleetArea())
        let stateSaver = self.stateSaver, store = daemon.store, journal = self.journal, logger = self.logger
        let checkpointSeq = self.checkpointSeq
        let take = {
            if stateSaver.submit(engine: engine, seq: seq, store: store, journal: journal, logger: logger) {
                checkpointSeq.set(seq)
            }
        }
        if waited {
            stateSaver.wait()  // a periodic one still being written comes first
            if writer.drain() { take() }
            stateSaver.wait()
        } else {
            writer.afterCommit(take)
        }
    }

    /// Sites away from the vehicles: said once when it begins (log, `/health`), and when it ends.
    private func notePlacement(_ placement: (outside: Int, sites: Int)?) {
        if let p = placement { DaemonMetrics.sitesOutsideFleetArea.record(p.outside) }
        let warning = Engine.sitePlacementWarning(placement)
        let before = daemon.sitePlacement.withLockedValue { old in defer { old = warning }; return old }
        if let warning, before == nil {
            logger.warning("sites lie away from the vehicles", metadata: ["iw.warning": "\(warning)"])
        } else if warning == nil, before != nil, placement != nil {
            logger.notice("sites lie where the vehicles are again")
        }
    }

    /// The batch's dead letters to the log, rate-limited per reason (`RejectLog`).
    private func logRejections(_ batch: StoreBatch) {
        guard !batch.deadLetters.isEmpty else { return }
        let now = Self.monotonic()
        for d in batch.deadLetters {
            if let line = rejectLog.rejected(d.reason, message: d.message, topic: d.topic, now: now) { say(line) }
        }
    }

    private func say(_ line: RejectLog.Line) {
        logger.warning("payloads rejected", metadata: ["iw.reason": "\(line.reason.rawValue)", "iw.count": "\(line.count)",
                                                       "iw.example": "\(line.message.prefix(200))", "mqtt.topic": "\(line.topic.prefix(200))"])
    }

    /// Metrics and `/health` from the queues and the store; the loop's heartbeat.
    private func reportState(_ metrics: inout DaemonMetrics) {
        if case .stillDown(let reason, let seconds)? = daemon.brokerWatch.withLockedValue({ $0.due(now: Self.monotonic()) }) {
            let d = daemon.configuration.daemon
            logger.error("mqtt still not connected: positions wait in the trackers or the broker",
                         metadata: ["mqtt.broker": "\(d.host):\(d.port)", "mqtt.reason": "\(reason)", "iw.down_s": "\(seconds)"])
        }
        if daemon.lastFixes.withLockedValue({ $0.wanted }) {
            let fixes = processor.engine.lastFixes()
            let now = Self.monotonic()
            daemon.lastFixes.withLockedValue { $0 = (false, now, fixes) }
        }
        for line in rejectLog.due(now: Self.monotonic()) { say(line) }
        daemon.engineAlive.set(Self.monotonic())
        let store = daemon.store
        do {
            let unpublished = try store.unpublishedCount()
            metrics.state(queue: queue, journal: journal, unpublished: unpublished, checkpointSeq: checkpointSeq.get(), writer: writer.depth,
                          wal: store.walCheckpoints)
            daemon.healthState.withLockedValue { $0.queueDepth = queue.depth; $0.unpublished = unpublished }
        } catch {
            daemon.faults.failed(.store, error, consequence: "the outbox cannot be read")
        }
    }
}
