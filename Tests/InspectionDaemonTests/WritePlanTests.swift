@testable import InspectionDaemon
import Testing

/// The store thread's decisions as values (`WritePlan`), without threads or a store.
@Suite struct WritePlanTests {
    static func batch(_ alerts: Int, rows: Int = 0, reconciles: Bool = false) -> WritePlan.Waiting {
        .batch(alerts: alerts, otherRows: rows, reconciles: reconciles)
    }

    /// The other rows of the head group as the plan is told them: the waiting batches' own.
    static func rows(_ waiting: [WritePlan.Waiting]) -> (Int) -> Int {
        { n in waiting.prefix(n).reduce(0) { if case .batch(_, let r, _) = $1 { return $0 + r }; return $0 } }
    }

    static func make(_ w: [WritePlan.Waiting], storedThrough: Int = 0) -> WritePlan {
        WritePlan.make(w, storedThrough: storedThrough, headOtherRows: rows(w))
    }

    @Test func theHeadGroupStopsAtACheckpointAndAtTheLimit() {
        #expect(Self.make([Self.batch(0), Self.batch(0), .afterCommit, Self.batch(0)]).head == 2)
        #expect(Self.make(Array(repeating: Self.batch(0), count: 40)).head == WritePlan.groupLimit)
        #expect(Self.make([.afterCommit, Self.batch(1)]).head == 0)
    }

    @Test func aSmallGroupAloneIsOneTransaction() {
        let p = Self.make([Self.batch(3, rows: 20), Self.batch(1, rows: 10)])
        #expect(p.alertsFirst.isEmpty)
        #expect(p.withoutAlerts == 0)
    }

    @Test func alertsAmongManyRowsGoFirst() {
        let p = Self.make([Self.batch(5, rows: WritePlan.alertsFirstAbove + 1)])
        #expect(p.alertsFirst == 0..<1)
        #expect(p.withoutAlerts == 1)
    }

    @Test func theAlertsOfEverythingWaitingGoFirstWhenBatchesWaitBeyondTheHead() {
        // A checkpoint splits the queue: the head is one batch, two more wait behind it.
        let w = [Self.batch(1), .afterCommit, Self.batch(2), Self.batch(0)]
        let p = Self.make(w)
        #expect(p.head == 1)
        #expect(p.alertsFirst == 0..<4)
        #expect(p.withoutAlerts == 4)
        // Those an earlier pass stored are not scanned again.
        #expect(Self.make(w, storedThrough: 4).alertsFirst.isEmpty)
    }

    @Test func nothingAfterABatchWithReconciliationsGoesFirst() {
        // It may withdraw an alert a later batch raises again: the later one must come after it.
        let w = [Self.batch(1), .afterCommit, Self.batch(1, reconciles: true), Self.batch(7)]
        let p = Self.make(w)
        #expect(p.alertsFirst == 0..<3)
        #expect(p.withoutAlerts == 3)
    }

    @Test func noAlertsNothingGoesFirst() {
        #expect(Self.make([Self.batch(0), .afterCommit, Self.batch(0, rows: 500)]).alertsFirst.isEmpty)
    }
}
