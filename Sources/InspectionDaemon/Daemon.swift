import Foundation
import InspectionConfig
import InspectionCore
import InspectionMQTT
import InspectionStore
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle

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
///
/// This class is what the rest of the process holds: the store, the live feed, commands and
/// health (`OfficeBackend`). `DaemonParts` wires the parts; `services()` gives them to a
/// `ServiceGroup` in the order they start (and stop in reverse).
/// `@unchecked Sendable`: shared state is in `NIOLockedValueBox`es; the rest is set once in `init`.
public final class Daemon: OfficeBackend, @unchecked Sendable {
    let configuration: Configuration
    let logger: Logger
    /// The database: the daemon writes it, the HTTP API reads it (WAL: readers never wait).
    public let store: Store
    /// Alerts raised and status changes, live (the API's event stream).
    public let feed = AlertFeed()
    let stopping = NIOLockedValueBox(false)
    /// MQTT ingest has stopped (the first part a shutdown stops): the outbox waits for the next start.
    let disconnecting = NIOLockedValueBox(false)
    let queueRef = NIOLockedValueBox<IngestQueue?>(nil)
    let writerRef = NIOLockedValueBox<StoreWriter?>(nil)
    let journalRef = NIOLockedValueBox<JournalFile?>(nil)
    let commands = CommandQueue()
    let healthState = NIOLockedValueBox(Health())
    let faults: Faults
    /// Set by the ingest and engine services once they run: systemd's READY waits for it.
    let started = Readiness(parts: 2)
    /// When the engine's loop last went round (monotonic seconds): the watchdog is fed only while
    /// it does.
    let engineAlive = NIOLockedValueBox<Double?>(nil)

    /// Opens the store (migrating it). Logs with fixed messages and the data in metadata
    /// (`iw.*`, `mqtt.*`); the executable chooses where they go (`LoggingSystem.bootstrap`).
    public init(configuration: Configuration, logger: Logger) throws(Failure) {
        self.configuration = configuration
        self.logger = logger
        self.faults = Faults(logger: logger)
        DaemonMetrics.registerAtStart()
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

    /// Asks the engine's loop to finish: what was received processed, the writer drained, the
    /// engine's checkpoint saved. (The engine service's graceful shutdown.)
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
        if let problem = registryProblem.get() {
            h.ok = false
            h.detail["registry"] = problem
        }
        if let warning = sitePlacement.get() { h.detail["sites"] = warning }
        for (part, error) in faults.current {
            h.ok = false
            h.detail[part] = error
        }
        return h
    }

    /// The trackers' newest positions: asked of the engine's thread, which copies them at its next
    /// report (each second); the copy before is answered if none comes within 3 s.
    public func lastPositions() async -> [String: Fix] {
        let asked = EngineRunner.monotonic()
        lastFixes.withLockedValue { $0.wanted = true }
        for _ in 0..<30 {
            if let fresh = lastFixes.withLockedValue({ $0.takenAt >= asked ? $0.fixes : nil }) { return fresh }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return lastFixes.withLockedValue { $0.fixes }
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

    public func submitScan(_ scan: Scan) -> Result<Void, CommandError> {
        guard let journal = journalRef.get(), let queue = queueRef.get(), !stopping.get() else {
            return .failure(.failed("the daemon is not taking scans now"))
        }
        do {
            // In the journal (durable) before the answer, as an MQTT message is before its PUBACK.
            queue.push(try journal.append(receivedAt: Millis(Date().timeIntervalSince1970 * 1000), subscription: JournalProcessor.apiScans,
                                          topic: "api/scans", payload: scan.json.bytes, durable: true))
            return .success(())
        } catch {
            return .failure(.failed("the journal cannot be written: \(error)"))
        }
    }

    /// Why `registry.dir` was not taken at start while the store's registry is served (nil: it was,
    /// or a reload since took the folder).
    let registryProblem = NIOLockedValueBox<String?>(nil)
    /// Most sites lie away from where the vehicles drive (`Engine.sitePlacementWarning`): said in
    /// `/health`, which stays ok (the daemon works; the registry is suspect).
    let sitePlacement = NIOLockedValueBox<String?>(nil)
    /// The broker's reachability, and when to remind the log that it is down.
    let brokerWatch = NIOLockedValueBox(BrokerWatch())
    /// The trackers' newest positions, copied by the engine's thread when the API wants them.
    let lastFixes = NIOLockedValueBox<(wanted: Bool, takenAt: Double, fixes: [String: Fix])>((false, -1, [:]))

    /// The registry from the store, after importing `registry.dir` when it is set. At start, a
    /// folder that does not validate while the store holds a registry is said (log, `/health`,
    /// `iw_registry_dir_valid`) and the store's is served: a bad edit and any restart must not
    /// become a crash loop under `Restart=on-failure`. A reload (SIGHUP, the API) that fails
    /// keeps the registry it has, as always.
    func loadRegistry(_ store: Store, atStart: Bool = false) throws(Failure) -> Registry {
        if let dir = configuration.registryDir {
            do {
                try StoredRegistry.importFolder(dir, into: store, configuration: configuration, actor: "serve")
                registryProblem.set(nil)
                DaemonMetrics.registryDirValid.record(1)
            } catch {
                guard atStart, case .registry(let why) = error, let stored = try StoredRegistry.load(from: store, configuration: configuration) else {
                    throw error
                }
                logger.critical("registry.dir does not validate: serving the registry the store holds; fix the file and send SIGHUP",
                                metadata: ["iw.error": "\(why)", "iw.sites": "\(stored.sites.count)", "iw.tasks": "\(stored.tasks.count)"])
                registryProblem.set("\(why); serving the registry the store holds")
                DaemonMetrics.registryDirValid.record(0)
                return stored
            }
        }
        guard let registry = try StoredRegistry.load(from: store, configuration: configuration) else {
            throw .registry(RegistryError(file: "configuration", field: "registry.dir",
                                          message: "the store holds no registry: set registry.dir or run inspection-watch import"))
        }
        return registry
    }

    /// Reads the registry, resumes the engine and wires the parts (`DaemonParts`); nothing runs
    /// yet. The services, in the order they start: the WAL's checkpoints, the store's writer, the
    /// engine's loop, MQTT ingest. A graceful shutdown stops them in reverse: nothing more is
    /// received, what was is processed and committed, then the writer and the WAL's thread end.
    /// The HTTP server and systemd's notifications go after them (stopped first).
    public func services() throws(Failure) -> [ServiceGroupConfiguration.ServiceConfiguration] {
        let parts = try DaemonParts(daemon: self)
        return [
            .init(service: WALCheckpointService(store: store)),
            .init(service: StoreWriterService(writer: parts.writer)),
            .init(service: EngineService(daemon: self, runner: parts.runner)),
            .init(service: IngestService(daemon: self, client: parts.client)),
        ]
    }
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
    /// Receive-to-processing delay of the latest batch.
    var lagSeconds: Double?

    var snapshot: (ok: Bool, detail: [String: String]) {
        var d = ["mqtt": connected ? "connected" : "disconnected", "ingest_queue": String(queueDepth), "outbox_unpublished": String(unpublished)]
        if let lagSeconds { d["lag_s"] = String(format: "%.1f", lagSeconds) }
        return (connected, d)
    }
}

/// Parts that must be running before the daemon says it is ready (systemd's READY=1).
final class Readiness: Sendable {
    private let left: NIOLockedValueBox<Int>

    init(parts: Int) { left = NIOLockedValueBox(parts) }

    /// One part runs.
    func partStarted() { left.withLockedValue { $0 -= 1 } }

    var isReady: Bool { left.get() <= 0 }
}
