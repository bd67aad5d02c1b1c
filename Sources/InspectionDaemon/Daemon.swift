import Foundation
import InspectionConfig
import InspectionCore
import InspectionMQTT
import InspectionReplay
import InspectionStore
import Logging

/// `inspection-watch serve`: MQTT in, journal, engine, store, alerts out.
///
/// Every message is committed to the store's journal on libmosquitto's thread before that thread
/// acknowledges it to the broker, so a crash (even SIGKILL) loses no accepted position. The main
/// thread processes the journal in order through the engine and commits visits, alerts and their
/// outbox rows in one transaction; the outbox is then published at QoS 1 and marked when the
/// broker acknowledges. On start the whole journal is processed again: the engine's state (open
/// stays, occasions) is rebuilt exactly, and stable ids make the repeated writes no-ops.
public final class Daemon: @unchecked Sendable {
    let configuration: Configuration
    let logger: Logger
    private let stopping = Atomic(false)
    private let reloading = Atomic(false)
    private let wake = DispatchSemaphore(value: 0)

    /// Logs with fixed messages and the data in metadata (`iw.*`, `mqtt.*`); the executable
    /// chooses where they go (`LoggingSystem.bootstrap`).
    public init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
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
        wake.signal()
    }

    /// Asks the run loop to read the registry files again (SIGHUP).
    public func reload() {
        reloading.set(true)
        wake.signal()
    }

    func loadRegistry() throws(Failure) -> Registry {
        let c = configuration
        guard let dir = c.registryDir else {
            throw .registry(RegistryError(file: "configuration", field: "registry.dir", message: "serve needs a registry folder"))
        }
        do {
            return try RegistryDirectory.load(
                dir, parser: RegistryParser(coordinates: c.coordinates, calendar: c.engine.calendar, margin: c.engine.siteMarginM))
        } catch { throw .registry(error) }
    }

    public func run() throws(Failure) {
        let c = configuration
        let d = c.daemon
        let registry = try loadRegistry()
        let store: Store
        do { store = try Store(path: d.storePath) } catch { throw .store("\(d.storePath): \(error)") }
        logger.notice("registry loaded", metadata: ["iw.sites": "\(registry.sites.count)", "iw.vehicles": "\(registry.vehicles.count)", "iw.tasks": "\(registry.tasks.count)"])

        var processor = JournalProcessor(registry: registry, settings: c.engine, daemon: d)
        // Rebuild the engine's state from the journal: nothing is written twice (stable ids).
        do {
            let replayed = try Self.drain(store, &processor)
            if replayed > 0 { logger.notice("journal replayed", metadata: ["iw.messages": "\(replayed)"]) }
        } catch { throw .store("\(error)") }

        var mqtt = MQTTSettings()
        mqtt.host = d.host
        mqtt.port = Int32(d.port)
        mqtt.clientId = d.clientId
        mqtt.cleanSession = false
        mqtt.username = d.username
        mqtt.password = d.password
        if let ca = d.caFile { mqtt.tls = .init(caFile: ca, certFile: d.certFile, keyFile: d.keyFile) }

        let inflight = InflightOutbox()
        let subscriptions = d.subscriptions
        let client: MQTTClient
        do {
            client = try MQTTClient(settings: mqtt, onMessage: { [store, wake, logger] m in
                let sub = subscriptions.firstIndex { MQTTClient.topic(m.topic, matches: $0.filter) } ?? 0
                let now = Millis(Date().timeIntervalSince1970 * 1000)
                // Committed before this returns, i.e. before libmosquitto acknowledges it.
                while true {
                    do {
                        try store.append(receivedAt: now, subscription: sub, topic: m.topic, payload: m.payload)
                        break
                    } catch {
                        logger.error("cannot store a received message; holding it unacknowledged", metadata: ["mqtt.topic": "\(m.topic)", "iw.error": "\(error)"])
                        Thread.sleep(forTimeInterval: 1)
                    }
                }
                wake.signal()
            }, onEvent: { [self, logger, wake] e in
                switch e {
                case .connected: logger.notice("mqtt connected", metadata: ["mqtt.broker": "\(d.host):\(d.port)"])
                case .refused(let why): logger.error("mqtt connection refused", metadata: ["mqtt.broker": "\(d.host):\(d.port)", "mqtt.reason": "\(why)"])
                case .disconnected(let why):
                    if self.stopping.get() { logger.notice("mqtt disconnected") } else {
                        logger.warning("mqtt disconnected; reconnecting", metadata: ["mqtt.reason": "\(why)"])
                    }
                case .published(let mid): inflight.acknowledged(mid); wake.signal()
                }
            })
            for s in d.subscriptions { try client.subscribe(s.filter, qos: 1) }
            try client.start()
        } catch { throw .mqtt(error) }

        let notifier = SystemdNotifier(environment: ProcessInfo.processInfo.environment)
        notifier.notify("READY=1")
        logger.notice("serving")
        var lastWatchdog = Date()
        while true {
            _ = wake.wait(timeout: .now() + .milliseconds(200))
            let finishing = stopping.get()
            if finishing { client.stop() }
            do {
                if reloading.get() {
                    reloading.set(false)
                    do {
                        let fresh = try loadRegistry()
                        // Messages already stored are processed under the registry they came with.
                        try Self.drain(store, &processor)
                        try store.commit(processor.replaceRegistry(fresh))
                        logger.notice("registry reloaded", metadata: ["iw.sites": "\(fresh.sites.count)", "iw.vehicles": "\(fresh.vehicles.count)", "iw.tasks": "\(fresh.tasks.count)"])
                    } catch let e as Failure {
                        logger.error("registry not reloaded; the previous one stays", metadata: ["iw.error": "\(e)"])
                    }
                }
                try Self.drain(store, &processor)
                let acknowledged = inflight.takeAcknowledged()
                try store.markPublished(acknowledged, at: Millis(Date().timeIntervalSince1970 * 1000))
                inflight.settled(acknowledged)
                if !finishing {
                    for entry in try store.unpublished(limit: 1000) where inflight.begin(entry.id) {
                        do {
                            let mid = try client.publish(topic: entry.topic, payload: entry.payload, qos: 1)
                            inflight.sent(entry.id, mid: mid)
                        } catch {
                            inflight.failed(entry.id)
                            break  // not connected: the outbox keeps it for later
                        }
                    }
                }
            } catch {
                logger.error("store error", metadata: ["iw.error": "\(error)"])
            }
            if let interval = notifier.watchdogInterval, Date().timeIntervalSince(lastWatchdog) >= interval {
                notifier.notify("WATCHDOG=1")
                lastWatchdog = Date()
            }
            if finishing { break }
        }
        notifier.notify("STOPPING=1")
        logger.notice("stopped")
    }

    /// Processes every journal entry not yet processed, committing a batch at a time; the count.
    @discardableResult
    static func drain(_ store: Store, _ processor: inout JournalProcessor) throws -> Int {
        var n = 0
        while true {
            let entries = try store.journal(after: processor.lastSeq, limit: 5000)
            if entries.isEmpty { return n }
            try store.commit(processor.process(entries))
            n += entries.count
        }
    }
}

/// Outbox rows between publish and being marked published in the store. A row stays pending after
/// the broker's PUBACK until the store says so, or the next outbox read would send it again.
final class InflightOutbox: @unchecked Sendable {
    private let lock = NSLock()
    private var pending = Set<Int64>()
    private var byMid: [Int32: Int64] = [:]
    private var acked: [Int64] = []
    private var early = Set<Int32>()

    func begin(_ id: Int64) -> Bool { lock.withLock { pending.insert(id).inserted } }
    func failed(_ id: Int64) { lock.withLock { _ = pending.remove(id) } }

    func sent(_ id: Int64, mid: Int32) {
        lock.withLock {
            if early.remove(mid) != nil { acked.append(id) } else { byMid[mid] = id }
        }
    }

    func acknowledged(_ mid: Int32) {
        lock.withLock {
            if let id = byMid.removeValue(forKey: mid) { acked.append(id) } else { early.insert(mid) }
        }
    }

    func takeAcknowledged() -> [Int64] {
        lock.withLock { defer { acked.removeAll() }; return acked }
    }

    /// The store marked these published: they leave the pending set.
    func settled(_ ids: [Int64]) { lock.withLock { pending.subtract(ids) } }
}

/// A flag shared between threads.
final class Atomic<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: T
    init(_ v: T) { value = v }
    func get() -> T { lock.withLock { value } }
    func set(_ v: T) { lock.withLock { value = v } }
}
