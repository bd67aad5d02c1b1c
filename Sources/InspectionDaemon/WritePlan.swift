import InspectionStore

/// What one pass of the store's thread writes, decided from what waits — a value a test checks
/// without threads or a store (`StoreWriter` carries it out).
///
/// - The batches at the head go together, one transaction for all of them (a group commit: after
///   a stall the writer catches up with fewer, larger transactions), up to `groupLimit`, stopping
///   at anything that is not a batch (a checkpoint waits for what is before it).
/// - The alerts of everything waiting, not only of the head group, may go first, in a
///   transaction of their own, so a burst's alerts reach the broker without waiting for its
///   visits and evidence: when batches wait beyond the head group, or the head group carries
///   alerts among more than `alertsFirstAbove` other rows. The scan starts after the items whose
///   alerts an earlier pass already stored, takes at most `alertScanLimit` items, and stops after
///   a batch with reconciliations (one may withdraw what a later batch raises again).
struct WritePlan: Equatable {
    /// What the plan needs of each waiting item.
    enum Waiting: Equatable {
        case batch(alerts: Int, otherRows: Int, reconciles: Bool)
        case afterCommit
    }

    /// Batches at the head committed together.
    var head: Int
    /// Items whose alerts go first, in a transaction of their own (`Store.commitAlerts`); empty
    /// when none do.
    var alertsFirst: Range<Int>
    /// Head batches written without their alerts (stored ahead, by this pass or an earlier one).
    var withoutAlerts: Int

    static let groupLimit = 16
    static let alertScanLimit = 256
    /// Other rows (visits, evidence, dead letters, late positions) that make a head group's
    /// alerts go first: in a burst, several times more rows than alerts would otherwise be
    /// committed before any alert could be published.
    static let alertsFirstAbove = 100

    /// `storedThrough`: the items at the head whose alerts are in the store already.
    /// `headOtherRows`: the other rows the head group writes (its evidence as the evidence
    /// buffer plans it, which the plan does not know).
    static func make(_ waiting: [Waiting], storedThrough: Int, headOtherRows: (Int) -> Int) -> WritePlan {
        var head = 0
        var headAlerts = 0
        for w in waiting.prefix(groupLimit) {
            guard case .batch(let alerts, _, _) = w else { break }
            head += 1
            headAlerts += alerts
        }
        var scanEnd = min(waiting.count, storedThrough + alertScanLimit)
        var anyAlerts = false
        for i in storedThrough..<max(storedThrough, scanEnd) {
            guard case .batch(let alerts, _, let reconciles) = waiting[i] else { continue }
            if alerts > 0 { anyAlerts = true }
            if reconciles { scanEnd = i + 1; break }
        }
        let inTwo = headAlerts > 0 && headOtherRows(head) > alertsFirstAbove
        let first = anyAlerts && (scanEnd > head || inTwo)
        return WritePlan(head: head, alertsFirst: first ? storedThrough..<scanEnd : storedThrough..<storedThrough,
                         withoutAlerts: first ? scanEnd : storedThrough)
    }
}

extension WritePlan.Waiting {
    init(_ item: StoreWriter.Item) {
        switch item {
        case .batch(let b):
            self = .batch(alerts: b.alerts.count, otherRows: b.visits.count + b.deadLetters.count + b.latePositions.count,
                          reconciles: !b.reconciliations.isEmpty)
        case .afterCommit:
            self = .afterCommit
        }
    }
}
