import Foundation
import InspectionCore
import InspectionMQTT
import InspectionStore

/// Alerts from the store's outbox to the broker, at QoS 1, run on the store's thread after each
/// commit: what the broker acknowledged is marked published, what is new (or could not be handed
/// over while disconnected) is sent.
///
/// A row is in flight from being handed to the broker until the store has marked it published
/// (after its PUBACK); it is never handed over twice meanwhile. The outbox is read from a cursor,
/// `handedThrough`, the highest row id handed to the broker (outbox ids only grow): the hundreds
/// of rows in flight at a high alert rate are not read again after every commit. A row that
/// could not be handed over moves the cursor back below itself.
/// `@unchecked Sendable`: the in-flight bookkeeping is changed only under `lock` (the MQTT thread acknowledges).
final class OutboxPublisher: @unchecked Sendable {
    private let store: Store
    private let faults: Faults
    private let lock = NSLock()
    private var pending = Set<Int64>()
    private var byMid: [Int32: Int64] = [:]
    private var acked: [Int64] = []
    private var early = Set<Int32>()
    private var cursor: Int64 = 0

    init(store: Store, faults: Faults) {
        self.store = store
        self.faults = faults
    }

    /// The highest outbox id handed to the broker: rows at or below it are in flight or published.
    var handedThrough: Int64 { lock.withLock { cursor } }

    /// The broker acknowledged message `mid` (from the connection's thread).
    func acknowledged(_ mid: Int32) {
        lock.withLock {
            if let id = byMid.removeValue(forKey: mid) { acked.append(id) } else { early.insert(mid) }
        }
    }

    /// Hands the rows after the cursor to `send` (which returns the message id, or throws when the
    /// broker cannot take it now: the row is tried again with the next call), up to `limit` rows a
    /// call; then marks what the broker acknowledged. In that order: the alerts just committed go
    /// to the broker before the store's next transaction (the marks) — they do not wait for it.
    /// A row acknowledged but not yet marked stays in `pending`, so it is not handed over again.
    ///
    /// `fresh`: rows just committed, in id order (`Store.commit`). When they follow the cursor
    /// without a gap they are all there is after it, and are handed over as they are; otherwise
    /// (rows a task change committed, rows that could not be handed over, the first call after a
    /// start) the outbox is read. Reading a burst's rows back and rebuilding each record held the
    /// slowest alerts' hand-over back (docs/performance.md, 2026-12-04).
    func publish(fresh: [OutboxEntry] = [], limit: Int = 1000, send: (OutboxEntry) throws(MQTTError) -> Int32) {
        do {
            let cursor = handedThrough
            let entries = fresh.first?.id == cursor + 1 && cursor > 0 ? fresh : try store.unpublished(after: cursor, limit: limit)
            for entry in entries where begin(entry.id) {
                do {
                    sent(entry.id, mid: try send(entry))
                } catch {
                    failed(entry.id)
                    break  // not connected: the outbox keeps it for later
                }
            }
            try markAcknowledgedOrThrow()
        } catch {
            faults.failed(.store, error, consequence: "alerts wait in the outbox")
        }
    }

    /// Marks what the broker acknowledged, sending nothing (the daemon is stopping).
    func markAcknowledged() {
        do { try markAcknowledgedOrThrow() } catch { faults.failed(.store, error, consequence: "alerts wait in the outbox") }
    }

    private func markAcknowledgedOrThrow() throws {
        let ids = lock.withLock { () -> [Int64] in defer { acked.removeAll() }; return acked }
        do {
            try store.markPublished(ids, at: Millis(Date().timeIntervalSince1970 * 1000))
        } catch {
            lock.withLock { acked.append(contentsOf: ids) }  // marked with the next try
            throw error
        }
        lock.withLock { pending.subtract(ids) }
    }

    private func begin(_ id: Int64) -> Bool {
        lock.withLock {
            cursor = max(cursor, id)
            return pending.insert(id).inserted
        }
    }

    private func sent(_ id: Int64, mid: Int32) {
        lock.withLock {
            if early.remove(mid) != nil { acked.append(id) } else { byMid[mid] = id }
        }
    }

    private func failed(_ id: Int64) {
        lock.withLock {
            _ = pending.remove(id)
            cursor = min(cursor, id - 1)
        }
    }
}
