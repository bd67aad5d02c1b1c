import Foundation
import InspectionStore

/// Journaled messages on their way from the receiving thread (libmosquitto's) to the engine's.
/// Bounded: when full, `push` waits — libmosquitto then stops reading the socket and the broker
/// holds the rest (`max_queued_messages`) — and each such wait is counted. Nothing is dropped here:
/// what is in the queue is already in the journal.
final class IngestQueue: @unchecked Sendable {
    let capacity: Int
    private let cond = NSCondition()
    private var items: [JournalEntry] = []
    private var head = 0
    private(set) var fullWaits = 0
    private var closed = false
    /// The consumer waits until this many entries are queued (`Int.max`: it is not waiting).
    private var wakeAt = Int.max
    private(set) var highWater = 0
    private var poked = false

    init(capacity: Int) { self.capacity = capacity }

    var depth: Int { cond.withLock { items.count - head } }

    func push(_ e: JournalEntry) {
        cond.lock()
        if items.count - head >= capacity && !closed {
            fullWaits += 1
            while items.count - head >= capacity && !closed { cond.wait() }
        }
        items.append(e)
        highWater = max(highWater, items.count - head)
        if items.count - head >= wakeAt { cond.broadcast() }  // no wake-up (a futex call) per message otherwise
        cond.unlock()
    }

    /// Up to `max` entries, waiting until `deadline` for the first one, then up to `gather` more
    /// seconds for the batch to fill (one store transaction serves many messages).
    func take(max: Int, until deadline: Date, gather: Double = 0) -> [JournalEntry] {
        cond.lock()
        defer { cond.unlock() }
        wakeAt = 1
        while items.count == head && !poked {
            if !cond.wait(until: deadline) { break }
        }
        if gather > 0 && !poked && items.count > head && items.count - head < max {
            // Woken when the batch is full (or poked), not polled.
            wakeAt = max
            let until = Date().addingTimeInterval(gather)
            while items.count - head < max && !poked {
                if !cond.wait(until: until) { break }
            }
        }
        poked = false
        wakeAt = Int.max
        let n = min(max, items.count - head)
        let out = Array(items[head..<(head + n)])
        head += n
        if head > 65_536 && head * 2 > items.count { items.removeFirst(head); head = 0 }
        if head == items.count { items.removeAll(keepingCapacity: true); head = 0 }
        if n > 0 { cond.broadcast() }  // a producer may wait for room
        return out
    }

    /// From now on `push` never waits (the daemon is stopping and drains what comes).
    func close() { cond.withLock { closed = true; cond.broadcast() } }

    /// Wakes a waiting `take`, or makes the next one return at once (a stop, reload or command).
    func poke() { cond.withLock { poked = true; cond.broadcast() } }
}
