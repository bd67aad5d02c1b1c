import Foundation
import InspectionConfig
import InspectionCore
import InspectionMQTT
import InspectionStore
import Logging
import NIOConcurrencyHelpers

/// The daemon's parts, wired: the journal, the ingest queue, the MQTT client (not yet connected),
/// the store's writer and the engine's loop (not yet running). Building them reads the registry
/// (importing `registry.dir`), resumes the engine from its checkpoint and opens the journal after
/// it; what fails here is a `Daemon.Failure` and nothing has started.
final class DaemonParts {
    let journal: JournalFile
    let queue: IngestQueue
    let client: MQTTClient
    let writer: StoreWriter
    let runner: EngineRunner

    init(daemon: Daemon) throws(Daemon.Failure) {
        let c = daemon.configuration
        let d = c.daemon
        let store = daemon.store
        let logger = daemon.logger
        // The tasks the visits in the store were matched against, before registry.dir is imported.
        let tasksBefore: [String: InspectionTask]
        do { tasksBefore = Dictionary(try store.tasks().map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a }) } catch {
            throw .store("\(d.storePath): \(error)")
        }
        let registry = try daemon.loadRegistry(store, atStart: true)
        var processor: JournalProcessor
        let journal: JournalFile
        // Tasks that changed in the files while the daemon was down: the visits seen at their
        // enterprises are matched again, as a reload would — once the journal after the checkpoint
        // (read under the new tasks) is through.
        let rematchAtStart: Set<String>
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
        } catch let e as Daemon.Failure {
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
        let queue = IngestQueue(capacity: d.queueCapacity, journal: journal, backlog: backlog)
        let outbox = OutboxPublisher(store: store, faults: daemon.faults)
        let client = try Self.client(daemon: daemon, journal: journal, queue: queue, outbox: outbox)
        let feed = daemon.feed
        let disconnecting = daemon.disconnecting
        // The outbox, from the writer's thread: what the broker acknowledged is marked, what is
        // new (or failed while disconnected) is sent.
        let writer = StoreWriter(store: store, faults: daemon.faults, committed: { batch in
            feed.publish(batch.alerts.map { .alert($0.record) })
            for r in batch.reconciliations { feed.publish(r) }
            DaemonMetrics.committed(batch, now: Millis(Date().timeIntervalSince1970 * 1000))
        }, idle: { fresh in
            guard !disconnecting.get() else { outbox.markAcknowledged(); return }
            outbox.publish(fresh: fresh) { entry throws(MQTTError) in try client.publish(topic: entry.topic, payload: entry.payload, qos: 1) }
        })
        let executor = CommandExecutor(configuration: c, store: store, loadRegistry: { [daemon] () throws(Daemon.Failure) -> Registry in
            try daemon.loadRegistry(store)
        })
        self.journal = journal
        self.queue = queue
        self.client = client
        self.writer = writer
        runner = EngineRunner(daemon: daemon, processor: processor, executor: executor, journal: journal, queue: queue,
                              writer: writer, backlogThrough: backlogThrough, rematchAtStart: rematchAtStart)
        daemon.queueRef.set(queue)
        daemon.writerRef.set(writer)
        daemon.journalRef.set(journal)
        runner.prepare()
    }

    /// The MQTT client, subscribed, not connected: each message goes into the journal on
    /// libmosquitto's thread before that thread acknowledges it, then into the ingest queue.
    static func client(daemon: Daemon, journal: JournalFile, queue: IngestQueue, outbox: OutboxPublisher) throws(Daemon.Failure) -> MQTTClient {
        let d = daemon.configuration.daemon
        let logger = daemon.logger
        var mqtt = MQTTSettings()
        mqtt.host = d.host
        mqtt.port = Int32(d.port)
        mqtt.clientId = d.clientId
        mqtt.cleanSession = false
        mqtt.username = d.username
        mqtt.password = d.password
        if let ca = d.caFile { mqtt.tls = .init(caFile: ca, certFile: d.certFile, keyFile: d.keyFile) }
        let subscriptions = d.subscriptions
        let faults = daemon.faults
        let receiving = ReceivingState()
        do {
            let client = try MQTTClient(settings: mqtt, onBytes: { [journal, queue] m in
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
            }, onEvent: { [daemon, logger] e in
                let broker = "\(d.host):\(d.port)"
                let now = EngineRunner.monotonic()
                switch e {
                case .connected:
                    daemon.healthState.withLockedValue { $0.connected = true }
                    DaemonMetrics.mqttConnected.record(1)
                    var meta: Logger.Metadata = ["mqtt.broker": "\(broker)"]
                    if case .back(let s)? = daemon.brokerWatch.withLockedValue({ $0.connected(now: now) }) { meta["iw.down_s"] = "\(s)" }
                    logger.notice("mqtt connected", metadata: meta)
                case .refused(let why):
                    let first = daemon.brokerWatch.withLockedValue { $0.failed("refused: " + why, now: now) }
                    logger.error("mqtt connection refused", metadata: ["mqtt.broker": "\(broker)", "mqtt.reason": "\(why)", "iw.first": "\(first != nil)"])
                case .disconnected(let why):
                    daemon.healthState.withLockedValue { $0.connected = false }
                    DaemonMetrics.mqttConnected.record(0)
                    if daemon.disconnecting.get() { logger.notice("mqtt disconnected") } else {
                        _ = daemon.brokerWatch.withLockedValue { $0.failed("disconnected: " + why, now: now) }
                        logger.warning("mqtt disconnected; reconnecting", metadata: ["mqtt.broker": "\(broker)", "mqtt.reason": "\(why)"])
                    }
                case .published(let mid): outbox.acknowledged(mid); daemon.writerRef.get()?.poke()
                case .error(let what):
                    _ = daemon.brokerWatch.withLockedValue { $0.failed(what, now: now) }
                    logger.error("mqtt connection failed", metadata: ["mqtt.broker": "\(broker)", "mqtt.reason": "\(what)"])
                }
            })
            for s in subscriptions { try client.subscribe(s.filter, qos: 1) }
            return client
        } catch { throw .mqtt(error) }
    }
}

/// What the receiving thread (libmosquitto's: one thread, so no lock) remembers between messages.
final class ReceivingState: @unchecked Sendable {
    var journalFailed = false
}
