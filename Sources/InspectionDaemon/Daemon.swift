import Foundation
import InspectionConfig
import InspectionCore
import InspectionMQTT
import InspectionStore
import Logging
import NIOConcurrencyHelpers

/// `inspection-watch serve`: MQTT in, journal, engine, store, alerts out.
///
/// Every message is appended to the journal file on libmosquitto's thread before that thread
/// acknowledges it to the broker, so a crash (even SIGKILL) loses no accepted position, and handed
/// to the engine's thread through a bounded queue. The engine's thread processes messages in
/// order; the store's thread (`StoreWriter`) commits each batch's visits, alerts and outbox rows in
/// one transaction, in order, then publishes the outbox at QoS 1, marked when the broker
/// acknowledges. Every `checkpoint_interval` (and on SIGTERM) the engine's state is saved once the
/// outputs it covers are committed, and the journal before it is deleted; on start the engine
/// resumes from the checkpoint and processes the journal after it, stable ids making any repeated
/// write a no-op.
/// `@unchecked Sendable`: shared state is in `NIOLockedValueBox`es; `run`'s locals stay on its thread.
public final class Daemon: OfficeBackend, @unchecked Sendable {
    let configuration: Configuration
    let logger: Logger
    /// The database: the daemon writes it, the HTTP API reads it (WAL: readers never wait).
    public let store: Store
    /// Alerts raised and status changes, live (the API's event stream).
    public let feed = AlertFeed()
    private let stopping = NIOLockedValueBox(false)
    private let queueRef = NIOLockedValueBox<IngestQueue?>(nil)
    private let writerRef = NIOLockedValueBox<StoreWriter?>(nil)
    private let commands = CommandQueue()
    private let healthState = NIOLockedValueBox(Health())
    private let faults: Faults

    /// Opens the store (migrating it). Logs with fixed messages and the data in metadata
    /// (`iw.*`, `mqtt.*`); the executable chooses where they go (`LoggingSystem.bootstrap`).
    public init(configuration: Configuration, logger: Logger) throws(Failure) {
        self.configuration = configuration
        self.logger = logger
        self.faults = Faults(logger: logger)
        do {
            store = try Store(path: configuration.daemon.storePath, backgroundCheckpoints: true,
                              alertTopicPrefix: configuration.daemon.alertTopicPrefix)
        } catch {
            throw .store("\(configuration.daemon.storePath): \(error)")
        }
    }

    public enum Failure: Error, CustomStringConvertible {
        case registry(RegistryError)
        case store(String)
        case mqtt(MQTTError)

        public var description: String {
            switch self {
            case .registry(let e): return "registry: \(e)"
            case .store(let e): return "store: \(e)"
            case .mqtt(let e): return "mqtt: \(e)"
            }
        }
    }

    /// Asks the run loop to finish: drain, stop, return.
    public func stop() {
        stopping.set(true)
        writerRef.get()?.requestStop()
        queueRef.get()?.poke()
    }

    /// What `/health` says: connected to the broker, the journal and the store writable (what
    /// cannot write says why), how far behind.
    public func health() -> (ok: Bool, detail: [String: String]) {
        var h = healthState.withLockedValue { $0.snapshot }
        h.detail["store"] = "ok"
        for (part, error) in faults.current {
            h.ok = false
            h.detail[part] = error
        }
        return h
    }

    /// Asks the run loop to read the registry files again (SIGHUP).
    public func reload() {
        _ = commands.push(.reload(by: Caller(name: "SIGHUP", agencyId: nil)), reply: nil)
        queueRef.get()?.poke()
    }

    /// A task change or a reload, carried out by the engine's thread between batches; returns
    /// once it is committed (its alerts queued for publishing).
    public func submit(_ command: Command) async -> Result<CommandResult, CommandError> {
        await withCheckedContinuation { continuation in
            let taken = commands.push(command) { continuation.resume(returning: $0) }
            if taken { queueRef.get()?.poke() } else { continuation.resume(returning: .failure(.failed("the daemon is stopping"))) }
        }
    }

    /// The registry from the store, after importing `registry.dir` when it is set.
    func loadRegistry(_ store: Store) throws(Failure) -> Registry {
        if let dir = configuration.registryDir {
            try StoredRegistry.importFolder(dir, into: store, configuration: configuration, actor: "serve")
        }
        guard let registry = try StoredRegistry.load(from: store, configuration: configuration) else {
            throw .registry(RegistryError(file: "configuration", field: "registry.dir",
                                          message: "the store holds no registry: set registry.dir or run inspection-watch import"))
        }
        return registry
    }

    public func run() throws(Failure) {
        let c = configuration
        let d = c.daemon
        let store = self.store
        // The tasks the visits in the store were matched against, before registry.dir is imported.
        let tasksBefore: [String: InspectionTask]
        do { tasksBefore = Dictionary(try store.tasks().map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a }) } catch {
            throw .store("\(d.storePath): \(error)")
        }
        let registry = try loadRegistry(store)
        let executor = CommandExecutor(configuration: c, store: store, loadRegistry: { () throws(Failure) -> Registry in
            try self.loadRegistry(store)
        })
        let journal: JournalFile
        var processor: JournalProcessor
        // Tasks that changed in the files while the daemon was down: the visits seen at their
        // enterprises are matched again, as a reload would — once the journal after the checkpoint
        // (read under the new tasks) is through.
        var rematchAtStart: Set<String> = []
        do {
            let written = try store.processedSeq()
            let saved = try store.checkpoint()
            var resume = try saved.map { (seq: $0.seq, state: try JSONDecoder().decode(EngineCheckpoint.self, from: $0.state)) }
            if resume != nil, !(resume!.state.chunkIds.isEmpty) {
                // The kept fixes' full chunks, stored apart: put back before the engine resumes.
                let chunks = try store.historyChunks()
                let decoder = JSONDecoder()
                let lost = resume!.state.puttingChunksBack { id in chunks[id].flatMap { try? decoder.decode(HistoryChunk.self, from: $0) } }
                if lost > 0 {
                    logger.error("kept fixes missing from the store: late positions of these vehicles before now count as too old",
                                 metadata: ["iw.vehicles": "\(lost)"])
                }
            }
            processor = JournalProcessor(registry: registry, settings: c.engine, daemon: d, resuming: resume)
            processor.writtenThrough = written
            journal = try JournalFile(directory: d.storePath + ".journal", startAfter: max(written, saved?.seq ?? 0))
            logger.notice("registry loaded", metadata: ["iw.sites": "\(registry.sites.count)", "iw.vehicles": "\(registry.vehicles.count)", "iw.tasks": "\(registry.tasks.count)"])
            if let resume {
                logger.notice("resumed from checkpoint", metadata: ["iw.seq": "\(resume.seq)", "iw.open_stays": "\(resume.state.openStays)"])
            }
            rematchAtStart = CommandExecutor.changedEnterprises(tasksBefore, registry.tasks)
        } catch let e as Failure {
            throw e
        } catch {
            throw .store("\(d.storePath): \(error)")
        }
        // What came after the checkpoint is processed again, which brings the engine to where it
        // was: read from the journal by the engine's loop while new messages are received (a
        // backlog of millions must not keep the broker waiting for the daemon).
        let backlogThrough = journal.nextSeq - 1
        let backlog = backlogThrough > processor.lastSeq ? (processor.lastSeq + 1)...backlogThrough : nil
        if let backlog {
            logger.notice("journal after the checkpoint is processed again", metadata: ["iw.messages": "\(backlog.count)"])
        }
        let feed = self.feed
        /// The re-match of `rematchAtStart`; true if it was done.
        func rematchStarting() -> Bool {
            let changed = rematchAtStart
            rematchAtStart = []
            do {
                let r = try executor.rematchChanged(changed, processor: &processor, actor: "serve", reason: "tasks changed in registry.dir")
                feed.publish(r)
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
        // Nothing to read again (a clean stop): matched again before anything is served.
        var rematchedAtStart = false
        if !rematchAtStart.isEmpty && backlog == nil { rematchedAtStart = rematchStarting() }

        var mqtt = MQTTSettings()
        mqtt.host = d.host
        mqtt.port = Int32(d.port)
        mqtt.clientId = d.clientId
        mqtt.cleanSession = false
        mqtt.username = d.username
        mqtt.password = d.password
        if let ca = d.caFile { mqtt.tls = .init(caFile: ca, certFile: d.certFile, keyFile: d.keyFile) }

        let outbox = OutboxPublisher(store: store, faults: self.faults)
        let queue = IngestQueue(capacity: d.queueCapacity, journal: journal, backlog: backlog)
        let subscriptions = d.subscriptions
        let client: MQTTClient
        do {
            let faults = self.faults
            let receiving = ReceivingState()
            client = try MQTTClient(settings: mqtt, onBytes: { [journal, queue] m in
                let sub = subscriptions.count == 1 ? 0 : subscriptions.firstIndex { MQTTClient.topic(cString: m.topicCString, matches: $0.filter) } ?? 0
                let now = Millis(Date().timeIntervalSince1970 * 1000)
                // In the journal before this returns, i.e. before libmosquitto acknowledges it.
                // A journal that cannot write (disk full, read-only): the message is held, not
                // acknowledged; the broker keeps it and the rest until the disk takes them again.
                while true {
                    do {
                        // QoS 1: written before the acknowledgement. QoS 0 (nothing promised) may
                        // wait in memory for company: one write for many.
                        queue.push(try journal.append(receivedAt: now, subscription: sub, topic: m.topic, payload: m.payload,
                                                      durable: m.qos > 0))
                        if receiving.journalFailed { receiving.journalFailed = false; faults.recovered(.journal) }
                        break
                    } catch {
                        receiving.journalFailed = true
                        faults.failed(.journal, error, consequence: "messages are not acknowledged; the broker holds them")
                        Thread.sleep(forTimeInterval: 1)
                    }
                }
            }, onEvent: { [self, logger, queue] e in
                switch e {
                case .connected:
                    self.healthState.withLockedValue { $0.connected = true }
                    logger.notice("mqtt connected", metadata: ["mqtt.broker": "\(d.host):\(d.port)"])
                case .refused(let why): logger.error("mqtt connection refused", metadata: ["mqtt.broker": "\(d.host):\(d.port)", "mqtt.reason": "\(why)"])
                case .disconnected(let why):
                    self.healthState.withLockedValue { $0.connected = false }
                    if self.stopping.get() { logger.notice("mqtt disconnected") } else {
                        logger.warning("mqtt disconnected; reconnecting", metadata: ["mqtt.reason": "\(why)"])
                    }
                case .published(let mid): outbox.acknowledged(mid); self.writerRef.get()?.poke()
                case .error(let what): logger.error("mqtt connection failed", metadata: ["mqtt.broker": "\(d.host):\(d.port)", "mqtt.reason": "\(what)"])
                }
            })
            for s in d.subscriptions { try client.subscribe(s.filter, qos: 1) }
            try client.start()
        } catch { throw .mqtt(error) }
        queueRef.set(queue)
        let faults = self.faults
        let stopping = self.stopping
        // QoS 0 messages buffered for the journal: if they cannot be written they are still
        // processed (the broker promised nothing for them).
        // Each thread that writes the journal says it works again only after it saw it fail.
        var flushFailed = false
        func flushJournal() {
            do {
                try journal.flush()
                if flushFailed { flushFailed = false; faults.recovered(.journal) }
            } catch {
                flushFailed = true
                faults.failed(.journal, error, consequence: "QoS 0 messages are not kept")
            }
        }
        // The outbox, from the writer's thread: what the broker acknowledged is marked, what is
        // new (or failed while disconnected) is sent.
        let writer = StoreWriter(store: store, faults: faults, committed: { batch in
            feed.publish(batch.alerts.map { .alert($0.record) })
            for r in batch.reconciliations { feed.publish(r) }
            DaemonMetrics.committed(batch, now: Millis(Date().timeIntervalSince1970 * 1000))
        }, idle: { fresh in
            guard !stopping.get() else { outbox.markAcknowledged(); return }
            outbox.publish(fresh: fresh) { entry throws(MQTTError) in try client.publish(topic: entry.topic, payload: entry.payload, qos: 1) }
        })
        writerRef.set(writer)

        let notifier = SystemdNotifier(environment: ProcessInfo.processInfo.environment)
        notifier.notify("READY=1")
        logger.notice("serving")
        func monotonic() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
        // What to do after each batch (`EngineLoop`); a re-match at start changed the engine's
        // occasions: the first pass checkpoints them.
        var loop = EngineLoop(now: monotonic(), checkpointInterval: Double(d.checkpointInterval) / 1000,
                              watchdogInterval: notifier.watchdogInterval, rematchPending: !rematchAtStart.isEmpty,
                              checkpointFirst: rematchedAtStart)
        var metrics = DaemonMetrics(engine: processor.engine)
        let stateSaver = EngineStateSaver()
        let checkpointSeq = NIOLockedValueBox(processor.lastSeq)
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
            metrics.batch(entries, batch, engine: processor.engine, now: Millis(Date().timeIntervalSince1970 * 1000))
            if finishing {
                client.stop()  // nothing more arrives; what was received is in the journal
                // What memory holds is processed; what only the journal holds (the engine was
                // behind) waits there for the next start.
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
            let pendingCommands = commands.takeAll()
            let runs = loop.batchDone(.init(now: monotonic(), finishing: finishing,
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
                        let result = executor.execute(command, processor: &processor)
                        switch result {
                        case .success(let r):
                            feed.publish(r.rematch)
                            DaemonMetrics.withdrawnByTaskChange.increment(by: r.rematch.withdrawn.count)
                            if let reg = r.registry {
                                logger.notice("registry reloaded", metadata: ["iw.sites": "\(reg.sites)", "iw.vehicles": "\(reg.vehicles)", "iw.tasks": "\(reg.tasks)",
                                                                             "iw.alerts_raised": "\(r.rematch.raised.count)", "iw.alerts_withdrawn": "\(r.rematch.withdrawn.count)"])
                            }
                            if let t = r.task {
                                logger.notice("task changed", metadata: ["iw.task": "\(t.task.id)", "iw.by": "\(t.updatedBy)", "iw.status": "\(t.task.status.rawValue)",
                                                                        "iw.visits_rematched": "\(r.rematch.visitsChanged)", "iw.alerts_raised": "\(r.rematch.raised.count)",
                                                                        "iw.alerts_withdrawn": "\(r.rematch.withdrawn.count)"])
                            }
                            loop.commandSucceeded()
                        case .failure(let e):
                            if case .reload = command {
                                logger.error("registry not reloaded; the previous one stays", metadata: ["iw.error": "\(e)"])
                            }
                        }
                        reply?(result)
                    }
                    writer.poke()  // their alerts are in the outbox
                }
            }
            var stop = false
            for action in loop.rest(now: monotonic()) {
                switch action {
                case .checkpoint(let waited):
                    // A checkpoint follows the outputs it covers: it is taken once the writer has
                    // committed them. It is encoded and written off both threads (the engine is a
                    // value: the copy taken here is the state after `lastSeq`, whatever comes next).
                    flushJournal()
                    let engine = processor.engine, seq = processor.lastSeq
                    let take = { [logger] in
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
                case .reportState:
                    do {
                        let unpublished = try store.unpublishedCount()
                        metrics.state(queue: queue, journal: journal, unpublished: unpublished, checkpointSeq: checkpointSeq.get(), writer: writer.depth,
                                      wal: store.walCheckpoints)
                        healthState.withLockedValue { $0.queueDepth = queue.depth; $0.unpublished = unpublished }
                    } catch {
                        faults.failed(.store, error, consequence: "the outbox cannot be read")
                    }
                case .feedWatchdog:
                    notifier.notify("WATCHDOG=1")
                case .stop:
                    stop = true
                }
            }
            if stop { break }
        }
        writer.stop()
        commands.close()
        feed.finish()
        notifier.notify("STOPPING=1")
        logger.notice("stopped", metadata: ["iw.checkpoint_seq": "\(processor.lastSeq)", "iw.spilled": "\(queue.spilledCount)", "iw.waiting_in_journal": "\(queue.depth)"])
    }
}

/// What the receiving thread (libmosquitto's: one thread, so no lock) remembers between messages.
final class ReceivingState: @unchecked Sendable {
    var journalFailed = false
}

extension NIOLockedValueBox {
    /// The value now (a copy, read under the lock).
    func get() -> Value { withLockedValue { $0 } }
    func set(_ v: Value) { withLockedValue { $0 = v } }
}

/// The connection and the queues as `/health` reports them, set from the daemon's threads (what
/// cannot write is `Faults`'), kept in a `NIOLockedValueBox`.
struct Health: Sendable {
    var connected = false
    var queueDepth = 0
    var unpublished = 0

    var snapshot: (ok: Bool, detail: [String: String]) {
        (connected, ["mqtt": connected ? "connected" : "disconnected",
                     "ingest_queue": String(queueDepth), "outbox_unpublished": String(unpublished)])
    }
}

/// Saves the engine's checkpoint on its own thread, one at a time (the WAL's checkpoints are
/// `WALCheckpointer`'s, another thing): encoding the engine's state takes long
/// enough with a year of occasions to hold alerts back otherwise.
/// The outputs up to the checkpoint's sequence number are committed before it is submitted, and
/// the journal is pruned only once it is stored.
/// `@unchecked Sendable`: `storedChunks` is only touched on its serial queue; `busy` is boxed.
final class EngineStateSaver: @unchecked Sendable {
    private let queue = DispatchQueue(label: "inspection-watch.checkpoint")
    private let group = DispatchGroup()
    private let busy = NIOLockedValueBox(false)
    /// The chunks of kept fixes in the store (read at start; the checkpoint's thread's own after).
    private var storedChunks: Set<UInt64>?

    /// False (and nothing done) while the previous one is still being written.
    func submit(engine: Engine, seq: Int64, store: Store, journal: JournalFile, logger: Logger) -> Bool {
        // Checked and set under one lock: two submits never both start.
        guard busy.withLockedValue({ b in defer { b = true }; return !b }) else { return false }
        queue.async(group: group) { [self] in
            defer { busy.set(false) }
            do {
                let began = DispatchTime.now()
                // The full chunks of kept fixes apart: each written once, the checkpoint naming them.
                let (slim, apart) = engine.checkpoint().keepingFullChunksApart()
                let stored = try storedChunks ?? store.historyChunkIds()
                let encoder = JSONEncoder()
                let fresh = try apart.filter { !stored.contains($0.id) }.map { (id: $0.id, data: try encoder.encode($0.chunk)) }
                let named = Set(apart.map(\.id))
                let state = try encoder.encode(slim)
                try store.saveCheckpoint(seq: seq, state: state, chunks: fresh, drop: Array(stored.subtracting(named)))
                storedChunks = named
                DaemonMetrics.checkpointDuration.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - began.uptimeNanoseconds))
                DaemonMetrics.checkpointBytes.record(state.count)
                journal.prune(through: seq)
            } catch {
                logger.error("checkpoint not saved; the journal is kept", metadata: ["iw.error": "\(error)"])
            }
        }
        return true
    }

    func wait() { group.wait() }
}
