import Foundation
import InspectionStore

/// Journaled messages on their way from the receiving thread (libmosquitto's) to the engine's.
///
/// Receiving never waits on processing: a message is acknowledged once the journal has it. Up to
/// `capacity` messages are also held in memory; beyond that the queue *spills* — it notes only
/// their sequence numbers, and the engine reads them back from the journal (`JournalFile.Reader`)
/// once it has taken what memory holds, until it has caught up. A slow or paused engine costs
/// disk, not messages and not memory; the disk is the bound, and a journal that cannot write
/// stops the acknowledgements (the broker holds the rest). Spilled messages are counted.
/// `@unchecked Sendable`: its state is read and changed only under `cond` (a condition: the engine waits on it).
final class IngestQueue: @unchecked Sendable {
    let capacity: Int
    private let journal: JournalFile
    private let reader: JournalFile.Reader  // the consumer's only
    private let cond = NSCondition()
    private var items: [JournalEntry] = []
    private var head = 0
    /// Messages from `spillFrom` through `spillThrough` are in the journal only; while there are
    /// any, every newer message joins them (order is kept).
    private var spillFrom: Int64?
    private var spillThrough: Int64 = 0
    /// Messages that went the journal-only way.
    private(set) var spilled = 0
    /// The consumer waits until this many messages wait (`Int.max`: it is not waiting).
    private var wakeAt = Int.max
    private var poked = false

    /// `backlog`: sequence numbers already in the journal and still to be processed (what came
    /// after the checkpoint, at start): they are read from the journal first.
    init(capacity: Int, journal: JournalFile, backlog: ClosedRange<Int64>? = nil) {
        self.capacity = capacity
        self.journal = journal
        self.reader = JournalFile.Reader(journal)
        if let backlog {
            spillFrom = backlog.lowerBound
            spillThrough = backlog.upperBound
        }
    }

    /// Messages waiting, in memory and in the journal only.
    var depth: Int { cond.withLock { waiting } }
    var spilledCount: Int { cond.withLock { spilled } }

    private var waiting: Int { items.count - head + (spillFrom.map { Int(spillThrough - $0 + 1) } ?? 0) }

    /// Never waits.
    func push(_ e: JournalEntry) {
        cond.lock()
        if spillFrom == nil && items.count - head < capacity {
            items.append(e)
        } else {
            if spillFrom == nil { spillFrom = e.seq }
            spillThrough = e.seq
            spilled += 1
        }
        if waiting >= wakeAt { cond.broadcast() }  // no wake-up (a futex call) per message otherwise
        cond.unlock()
    }

    /// Up to `max` messages, oldest first, waiting until `deadline` for the first one, then up to
    /// `gather` more seconds for the batch to fill (one store transaction serves many messages).
    /// With `journal` false only what memory holds is taken (a stop: the journal keeps the rest
    /// for the next start). Throws when the journal cannot be read; the messages stay in it.
    func take(max: Int, until deadline: Date, gather: Double = 0, journal fromJournal: Bool = true) throws -> [JournalEntry] {
        cond.lock()
        wakeAt = 1
        while waiting == 0 && !poked {
            if !cond.wait(until: deadline) { break }
        }
        if gather > 0 && !poked && waiting > 0 && waiting < max {
            // Woken when the batch is full (or poked), not polled.
            wakeAt = max
            let until = Date().addingTimeInterval(gather)
            while waiting < max && !poked {
                if !cond.wait(until: until) { break }
            }
        }
        poked = false
        wakeAt = Int.max
        guard items.count == head, fromJournal, let from = spillFrom else {
            let n = min(max, items.count - head)
            let out: [JournalEntry]
            if head == 0 && n == items.count {
                // All of it: handed over whole. (A copy would share the storage with `items`, and
                // emptying `items` would then allocate its whole capacity again — megabytes per
                // batch; docs/performance.md has what it cost.)
                out = items
                items = []
                items.reserveCapacity(1024)
            } else {
                out = Array(items[head..<(head + n)])
                head += n
                if head > 65_536 && head * 2 > items.count { items.removeFirst(head); head = 0 }
                if head == items.count { items.removeAll(keepingCapacity: true); head = 0 }
            }
            cond.unlock()
            return out
        }
        let through = spillThrough
        cond.unlock()
        // QoS 0 messages may still be in the journal's buffer: written first (if that fails they
        // are gone — the broker promised nothing for them — and the reader passes over the gap).
        try? journal.flush()
        let out = try reader.read(from: from, through: through, max: max)
        cond.withLock {
            let next = out.count == max ? out.last!.seq + 1 : through + 1
            spillFrom = next > spillThrough ? nil : next
        }
        return out
    }

    /// Wakes a waiting `take`, or makes the next one return at once (a stop, reload or command).
    func poke() { cond.withLock { poked = true; cond.broadcast() } }
}
