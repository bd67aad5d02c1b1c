import Foundation
import InspectionCore
import InspectionStore

/// The positions of open visits, held on the store's thread and written together: each commit
/// that writes a visit's positions writes that visit's leaf of `visit_positions` again (its key
/// is the visit id), so a fix at a time cost a WAL page per open visit per commit — most of the
/// WAL's pages under an alert burst (docs/performance.md). A visit's positions are written when it closes (in the
/// transaction that closes it), when they have waited `flushAfter`, when more than `limit` wait,
/// and before anything that follows the commits (an engine checkpoint, a command, the stop).
///
/// Nothing is lost in a crash: the engine's checkpoint is taken only after the buffer is written,
/// and the journal after it is processed again after a restart, bringing the same positions
/// (`INSERT OR IGNORE`: those already stored are no-ops).
struct EvidenceBuffer {
    /// Positions waiting, by visit.
    private(set) var waiting: [String: [Fix]] = [:]
    private(set) var count = 0
    /// When the oldest position waiting was buffered (nil: none waits).
    private(set) var since: Millis?

    let flushAfter: Millis
    let limit: Int

    init(flushAfter: Millis = 5_000, limit: Int = 200_000) {
        self.flushAfter = flushAfter
        self.limit = limit
    }

    /// What one transaction writes of the evidence, and what it leaves waiting.
    struct Plan {
        /// Written with the transaction.
        var write: [(visitId: String, fixes: [Fix])] = []
        /// Visits whose waiting positions are in `write`; all of them when `everything`.
        var written: [String] = []
        var everything = false
        /// The batches' positions of visits still open, to wait.
        var keep: [(visitId: String, fixes: [Fix])] = []
    }

    /// How the evidence of `batches` and of the buffer is split between this transaction and
    /// later ones. Changes nothing: `apply` it once the transaction is committed.
    func plan(_ batches: [StoreBatch], now: Millis, everything all: Bool = false) -> Plan {
        var p = Plan()
        var incoming = 0
        for b in batches { for e in b.evidence { incoming += e.fixes.count } }
        p.everything = all || count + incoming > limit || due(now: now)
        if p.everything {
            p.write = waiting.map { ($0.key, $0.value) }
            for b in batches { p.write += b.evidence }
            return p
        }
        var closed = Set<String>()
        for b in batches { for v in b.visits where v.end != nil { closed.insert(v.visitId) } }
        for id in closed { if let w = waiting[id] { p.write.append((id, w)); p.written.append(id) } }
        for b in batches {
            for e in b.evidence {
                if closed.contains(e.visitId) { p.write.append(e) } else { p.keep.append(e) }
            }
        }
        return p
    }

    /// The plan's transaction is committed.
    mutating func apply(_ p: Plan, now: Millis) {
        if p.everything {
            waiting.removeAll(keepingCapacity: true)
            count = 0
            since = nil
            return
        }
        for id in p.written { count -= waiting.removeValue(forKey: id)?.count ?? 0 }
        for e in p.keep where !e.fixes.isEmpty {
            waiting[e.visitId, default: []] += e.fixes
            count += e.fixes.count
        }
        if count == 0 { since = nil } else if since == nil { since = now }
    }

    /// The positions waiting have waited `flushAfter`: the next transaction writes them all.
    func due(now: Millis) -> Bool { since.map { now - $0 >= flushAfter } ?? false }

    var isEmpty: Bool { count == 0 }
}
