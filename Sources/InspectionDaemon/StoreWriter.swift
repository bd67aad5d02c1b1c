import Foundation
import InspectionCore
import InspectionStore

/// The store's stage of the pipeline, on a thread of its own: the engine's thread hands over each
/// batch of visits, alerts and evidence and goes on with the next messages while this one commits
/// them (the transaction, its WAL writes and checkpoints were two thirds of the engine thread's
/// time when both were one thread), then publishes the outbox.
///
/// Batches are committed in the order given; those waiting together go in one transaction. Alerts
/// go ahead of the rest: when batches wait behind the head group, or the group carries alerts
/// among many other rows (`commitsInTwo`), the alerts of everything waiting are committed first,
/// in a transaction of their own, and published at once; then the group's visits and evidence. At
/// most `capacity` wait: when the store cannot write (disk full, read-only), the batches at the
/// head are tried again every second, the engine's thread waits in `submit`, and new messages wait
/// in the journal (the ingest queue spills). `afterCommit` items
/// run in the same order, once everything submitted before them is committed (a checkpoint
/// follows the outputs it covers). The positions of open visits wait here (`EvidenceBuffer`) and
/// are written when the visit closes, within 5 s, and before an `afterCommit` item.
/// `@unchecked Sendable`: its queue is read and changed only under `cond`; the rest is the writer thread's own.
final class StoreWriter: @unchecked Sendable {
    enum Item {
        case batch(StoreBatch)
        case afterCommit(() -> Void)
    }

    let capacity: Int
    /// Batches committed in one transaction at most.
    private let store: Store
    private let faults: Faults
    private let committed: (StoreBatch) -> Void
    private let idle: ([OutboxEntry]) -> Void
    private let cond = NSCondition()
    private var items: [Item] = []
    /// The daemon is stopping: a batch the store cannot take is given up (it is in the journal).
    private var stopRequested = false
    /// No more items come: the thread ends once the queue is empty.
    private var ending = false
    private var abandoned = false
    private var poked = false
    /// The items at the head of the queue, this many, whose alerts are in the store already
    /// (committed ahead of their other rows); their batches are committed without them.
    private var alertsStoredThrough = 0
    /// Times `submit` (or `afterCommit`) found the queue full and waited.
    private(set) var fullWaits = 0
    /// Transactions that committed batches.
    private var commits = 0
    private var finished = false
    /// The positions of open visits, written together (this thread's only).
    private var evidence = EvidenceBuffer()

    /// `committed`: called on this thread after each batch is in the store. `idle`: called after
    /// that, and at least every 0.2 s (the outbox is published from here), with the outbox rows
    /// of the alerts just committed (`Store.commit`), in id order.
    init(store: Store, faults: Faults, capacity: Int = 32, committed: @escaping (StoreBatch) -> Void,
         idle: @escaping ([OutboxEntry]) -> Void) {
        self.store = store
        self.faults = faults
        self.capacity = capacity
        self.committed = committed
        self.idle = idle
        let t = Thread { [self] in loop() }
        t.name = "store-writer"
        t.start()
    }

    /// Queues a batch, waiting while `capacity` are waiting. False once the writer has given up
    /// (stopping while the store cannot write: the journal keeps what was not stored) or was
    /// stopped (a daemon whose parts are cancelled together: the journal keeps it as well).
    @discardableResult
    func submit(_ batch: StoreBatch) -> Bool { enqueue(.batch(batch)) }

    /// Runs `body` on the writer's thread once everything submitted before is committed.
    @discardableResult
    func afterCommit(_ body: @escaping () -> Void) -> Bool { enqueue(.afterCommit(body)) }

    private func enqueue(_ item: Item) -> Bool {
        cond.lock()
        defer { cond.unlock() }
        if items.count >= capacity && !abandoned && !ending {
            fullWaits += 1
            while items.count >= capacity && !abandoned && !ending { cond.wait() }
        }
        guard !abandoned && !ending else { return false }
        items.append(item)
        cond.broadcast()
        return true
    }

    /// Waits until everything submitted is committed, the positions of open visits too (before a
    /// task change reads the store, or a checkpoint is taken on the caller's thread). False if the
    /// writer gave up.
    @discardableResult
    func drain() -> Bool {
        guard afterCommit({}) else { return false }  // it writes the positions waiting
        cond.lock()
        defer { cond.unlock() }
        while !items.isEmpty && !abandoned && !finished { cond.wait() }
        return !abandoned && items.isEmpty
    }

    /// Batches waiting, the ones being committed included, how often the queue was full, and the
    /// transactions that committed batches so far.
    var depth: (items: Int, fullWaits: Int, commits: Int) { cond.withLock { (items.count, fullWaits, commits) } }

    /// The outbox has news (an acknowledgement, a command's alerts): `idle` runs soon.
    func poke() { cond.withLock { poked = true; cond.broadcast() } }

    /// The daemon is stopping: from now on a commit that fails gives the writer up (unblocking
    /// `submit` and `drain`) instead of being tried again.
    func requestStop() { cond.withLock { stopRequested = true; cond.broadcast() } }

    /// Finishes what is queued (or, if the store cannot write, gives it up: it is in the journal)
    /// and ends the thread.
    func stop() {
        cond.lock()
        stopRequested = true
        ending = true
        cond.broadcast()
        while !finished { cond.wait() }
        cond.unlock()
    }

    private func loop() {
        while true {
            cond.lock()
            if items.isEmpty && !poked && !ending { _ = cond.wait(until: Date().addingTimeInterval(0.2)) }
            poked = false
            // What this pass writes (`WritePlan`): the head group, and whose alerts go first.
            let waiting = items.map(WritePlan.Waiting.init)
            let covered = alertsStoredThrough
            var batches: [StoreBatch] = []
            for item in items.prefix(WritePlan.groupLimit) {
                guard case .batch(let b) = item else { break }
                batches.append(b)
            }
            let head = items.first
            let done = items.isEmpty && ending
            cond.unlock()
            if done {
                // The positions still waiting; if the store cannot take them, the journal has them.
                do { try flushEvidence() } catch {
                    faults.failed(.store, error, consequence: "the positions of open visits are not stored; the journal has them")
                }
                break
            }
            // The outbox rows of the alerts this pass committed: handed to the broker from memory.
            var fresh: [OutboxEntry] = []
            do {
                switch head {
                case .batch:
                    let now = Self.monotonicMillis()
                    let plan = evidence.plan(batches, now: now)
                    // The batches as written: the evidence this transaction takes, in the last.
                    var writing = batches.map { b -> StoreBatch in var w = b; w.evidence = []; return w }
                    writing[writing.count - 1].evidence = plan.write
                    let write = WritePlan.make(waiting, storedThrough: covered) { n in
                        writing.prefix(n).reduce(0) { $0 + $1.visits.count + $1.deadLetters.count + $1.latePositions.count }
                            + plan.write.reduce(0) { $0 + $1.fixes.count }
                    }
                    if !write.alertsFirst.isEmpty {
                        let alertBatches = cond.withLock {
                            items[write.alertsFirst].compactMap { item -> StoreBatch? in
                                if case .batch(let b) = item, !b.alerts.isEmpty { return b }
                                return nil
                            }
                        }
                        let committedFirst = try store.commitAlerts(alertBatches)
                        cond.withLock { alertsStoredThrough = max(alertsStoredThrough, write.alertsFirst.upperBound) }
                        idle(committedFirst)  // the alerts to the broker now
                    }
                    // The head group, without the alerts already in the store.
                    for i in writing.indices where i < write.withoutAlerts { writing[i].alerts = [] }
                    fresh = try store.commit(writing)
                    evidence.apply(plan, now: now)
                    if batches.contains(where: { !$0.isEmpty }) { faults.recovered(.store) }  // an empty batch writes nothing: it proves nothing
                    for b in batches { committed(b) }
                case .afterCommit(let body):
                    try flushEvidence()  // what follows (a checkpoint) covers the positions waiting
                    body()
                case nil:
                    if evidence.due(now: Self.monotonicMillis()) { try flushEvidence() }
                }
            } catch {
                faults.failed(.store, error, consequence: "visits and alerts wait in memory; new messages wait in the journal")
                if cond.withLock({ stopRequested }) { giveUp(); return }
                Thread.sleep(forTimeInterval: 1)
                continue  // the same items again
            }
            if head != nil {
                // They leave the queue only once done.
                let n = max(1, batches.count)
                cond.withLock {
                    items.removeFirst(n)
                    alertsStoredThrough = max(0, alertsStoredThrough - n)
                    if !batches.isEmpty { commits += 1 }
                    cond.broadcast()
                }
            }
            idle(fresh)
        }
        cond.withLock { finished = true; cond.broadcast() }
    }

    /// Writes all the positions waiting (`EvidenceBuffer`), in a transaction of their own.
    private func flushEvidence() throws {
        guard !evidence.isEmpty else { return }
        let now = Self.monotonicMillis()
        let plan = evidence.plan([], now: now, everything: true)
        var b = StoreBatch()
        b.evidence = plan.write
        try store.commit([b])
        evidence.apply(plan, now: now)
    }

    static func monotonicMillis() -> Millis { Millis(DispatchTime.now().uptimeNanoseconds / 1_000_000) }

    private func giveUp() {
        cond.withLock {
            abandoned = true
            items.removeAll()
            finished = true
            cond.broadcast()
        }
    }
}
