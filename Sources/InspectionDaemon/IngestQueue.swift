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
    private(set) var highWater = 0

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
        cond.broadcast()
        cond.unlock()
    }

    /// Up to `max` entries, waiting until `deadline` for the first one.
    func take(max: Int, until deadline: Date) -> [JournalEntry] {
        cond.lock()
        defer { cond.unlock() }
        while items.count == head {
            if !cond.wait(until: deadline) { break }
        }
        let n = min(max, items.count - head)
        let out = Array(items[head..<(head + n)])
        head += n
        if head > 65_536 && head * 2 > items.count { items.removeFirst(head); head = 0 }
        if head == items.count { items.removeAll(keepingCapacity: true); head = 0 }
        cond.broadcast()
        return out
    }

    /// From now on `push` never waits (the daemon is stopping and drains what comes).
    func close() { cond.withLock { closed = true; cond.broadcast() } }

    /// Wakes a waiting `take` (a stop or reload request).
    func poke() { cond.withLock { cond.broadcast() } }
}
