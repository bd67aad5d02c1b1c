import Foundation
import InspectionCore
import Testing

/// The daemon's judge of code scans (`ScanJudge`), driven with plain visits, scans and times: what
/// it decides as they come, and that what stands in the end is what replay's judgement says.
@Suite struct ScanJudgeTests {
    static let hour: Millis = 3_600_000

    /// The town's visits: AMR at the factory on the 17th (09:30–10:00) and ENV on the 18th.
    static func town() -> (Scenario, [VisitRecord]) {
        var s = Scenario.town()
        s.inspect("amr-1", from: "2025-06-17 09:30")
        s.inspect("env-1", from: "2025-06-18 09:30")
        return (s, s.run().visits)
    }

    static func scan(_ id: String, _ agency: String, _ at: String) -> Scan {
        Scan(scanId: id, enterpriseId: "E-FACTORY", agencyId: agency, taskId: nil, at: Town.t(at))
    }

    @Test func anOccasionIsJudgedWhenDueAndAScanLaterWithdrawsItsAlert() {
        let (s, visits) = Self.town()
        var j = ScanJudge()
        var open = visits[0]
        open.end = nil
        j.visit(open)
        // An open visit is never due.
        #expect(j.judge(now: Town.t("2025-06-30 00:00"), registry: s.registry, settings: s.settings).isEmpty)
        j.visit(visits[0])
        #expect(j.judge(now: Town.t("2025-06-18 09:59"), registry: s.registry, settings: s.settings).isEmpty)
        let d = j.judge(now: Town.t("2025-06-18 10:00"), registry: s.registry, settings: s.settings)
        #expect(d.raised.map(\.kind) == [.unscannedVisit] && d.raised[0].at == Town.t("2025-06-18 10:00") && d.withdrawn.isEmpty)
        // Judged once.
        #expect(j.judge(now: Town.t("2025-06-19 00:00"), registry: s.registry, settings: s.settings).isEmpty)
        // A scan of another agency changes nothing; one of AMR within the window withdraws it.
        #expect(j.add(Self.scan("S1", "ENV", "2025-06-17 09:40"), registry: s.registry, settings: s.settings) == .new)
        #expect(j.judge(now: Town.t("2025-06-19 00:00"), registry: s.registry, settings: s.settings).isEmpty)
        j.add(Self.scan("S2", "AMR", "2025-06-17 09:40"), registry: s.registry, settings: s.settings)
        let w = j.judge(now: Town.t("2025-06-19 00:01"), registry: s.registry, settings: s.settings)
        #expect(w.raised.isEmpty && w.withdrawn.map(\.alert.alertId) == [d.raised[0].alertId] && w.withdrawn[0].reason == .scanReceived)
        // The same scan again is a duplicate and withdraws nothing more.
        #expect(j.add(Self.scan("S2", "AMR", "2025-06-17 09:40"), registry: s.registry, settings: s.settings) == .duplicate)
        #expect(j.judge(now: Town.t("2025-06-19 00:02"), registry: s.registry, settings: s.settings).isEmpty)
    }

    @Test func aScanBeforeTheJudgementMeansNoAlertAtAll() {
        let (s, visits) = Self.town()
        var j = ScanJudge()
        j.add(Self.scan("S1", "AMR", "2025-06-17 09:20"), registry: s.registry, settings: s.settings)
        j.visit(visits[0])
        #expect(j.judge(now: Town.t("2025-06-20 00:00"), registry: s.registry, settings: s.settings).isEmpty)
        #expect(j.judgedCount == 1 && j.pendingCount == 0)
    }

    @Test func anOccasionThatChangesAfterItsJudgementIsWithdrawnAndJudgedAgain() {
        let (s, visits) = Self.town()
        var j = ScanJudge()
        j.visit(visits[0])
        let first = j.judge(now: Town.t("2025-06-18 10:00"), registry: s.registry, settings: s.settings).raised
        #expect(first.count == 1)
        // Late positions: another AMR visit the same day joins the occasion, ending 15:00.
        var later = visits[0]
        later.visitId = "v-later"
        later.vehicleId = "amr-2"
        later.start = Town.t("2025-06-17 14:30")
        later.end = Town.t("2025-06-17 15:00")
        j.visit(later)
        let changed = j.judge(now: Town.t("2025-06-18 10:01"), registry: s.registry, settings: s.settings)
        #expect(changed.raised.isEmpty && changed.withdrawn.map(\.alert.alertId) == first.map(\.alertId))
        #expect(changed.withdrawn[0].reason == .occasionChanged)
        // Judged again at the new due time: the same alert (it reopens), with both visits.
        let again = j.judge(now: Town.t("2025-06-18 15:00"), registry: s.registry, settings: s.settings)
        #expect(again.raised.map(\.alertId) == first.map(\.alertId) && again.raised[0].at == Town.t("2025-06-18 15:00"))
        // The visit superseded: the occasion is as before; withdrawn, judged again at 10:00 + 24 h.
        j.remove(visitId: "v-later")
        let back = j.judge(now: Town.t("2025-06-18 15:01"), registry: s.registry, settings: s.settings)
        #expect(back.raised.map(\.at) == [Town.t("2025-06-18 10:00")] && back.withdrawn.isEmpty)  // raised again: the raising stands
    }

    @Test func aVisitMovedToAnotherOccasionByARematchIsFollowed() {
        let (s, visits) = Self.town()
        var j = ScanJudge()
        j.visit(visits[0])
        let first = j.judge(now: Town.t("2025-06-18 10:00"), registry: s.registry, settings: s.settings).raised
        j.assign(visitId: visits[0].visitId, VisitAssignment(taskId: "T-late", occasionId: "o-new"))
        let d = j.judge(now: Town.t("2025-06-18 10:00"), registry: s.registry, settings: s.settings)
        #expect(d.withdrawn.map(\.alert.alertId) == first.map(\.alertId))
        #expect(d.raised.count == 1 && d.raised[0].alertId != first[0].alertId && d.raised[0].detail["occasion_id"] == .string("o-new"))
    }

    /// Visits and scans in any order, judged as time goes by: what stands is replay's judgement.
    @Test(arguments: [1, 2, 3, 4, 5] as [UInt64])
    func whatStandsInTheEndIsReplaysJudgement(seed: UInt64) {
        var s = Scenario.town()
        s.task("J1", agency: "AMR", partners: ["ENV"], enterprise: "E-FACTORY", kind: .joint, start: "2025-06-20", end: "2025-06-20",
               announced: "2025-06-10 09:00")
        for day in 16...24 { s.inspect(day % 2 == 0 ? "amr-1" : "env-1", from: "2025-06-\(day) 09:30") }
        s.inspect("env-1", from: "2025-06-20 13:00")
        s.inspect("fire-1", from: "2025-06-21 15:00")
        let visits = s.run().visits
        var rng = SplitMix64(seed: seed)
        var scans: [Scan] = []
        for day in 16...24 where rng.next() % 3 != 0 {
            scans.append(Self.scan("S\(day)", ["AMR", "ENV", "FIRE"][Int(rng.next() % 3)], "2025-06-\(day) " + Timestamp.pad(8 + Int(rng.next() % 6), 2) + ":15"))
        }
        let replay = ScanRule.judgeAll(visits, book: ScanBook(scans), settings: s.settings, registry: s.registry)
        #expect(!replay.isEmpty)

        // Events in a shuffled order, the clock moving on between them.
        var events: [Either] = visits.map { .visit($0) } + scans.map { .scan($0) }
        events.shuffle(using: &rng)
        var j = ScanJudge()
        var standing: [String: AlertRecord] = [:]
        var now = Town.t("2025-06-16 00:00")
        func apply(_ d: ScanJudge.Decisions) {
            for (a, _) in d.withdrawn { standing[a.alertId] = nil }
            for a in d.raised { standing[a.alertId] = a }
        }
        for e in events {
            switch e {
            case .visit(let v): j.visit(v)
            case .scan(let sc): j.add(sc, registry: s.registry, settings: s.settings)
            }
            now += 6 * Self.hour
            apply(j.judge(now: now, registry: s.registry, settings: s.settings))
        }
        apply(j.judge(now: Town.t("2025-07-10 00:00"), registry: s.registry, settings: s.settings))
        #expect(standing.keys.sorted() == replay.map(\.alertId).sorted())
        #expect(Set(standing.values.map(\.at)) == Set(replay.map(\.at)))
    }

    enum Either { case visit(VisitRecord), scan(Scan) }

    @Test func aCheckpointKeepsWhatIsPendingJudgedAndScanned() throws {
        let (s, visits) = Self.town()
        var j = ScanJudge()
        j.visit(visits[0])
        j.visit(visits[1])
        _ = j.judge(now: Town.t("2025-06-18 10:00"), registry: s.registry, settings: s.settings)  // the first judged, the second pending
        j.add(Self.scan("S9", "ENV", "2025-06-25 10:00"), registry: s.registry, settings: s.settings)
        var back = try JSONDecoder().decode(ScanJudge.self, from: JSONEncoder().encode(j))
        #expect(back.pendingCount == 1 && back.judgedCount == 1 && back.book == j.book)
        // After the restore: a scan still withdraws the first occasion's alert, the second is judged when due.
        back.add(Self.scan("S1", "AMR", "2025-06-17 09:50"), registry: s.registry, settings: s.settings)
        let d = back.judge(now: Town.t("2025-06-19 10:00"), registry: s.registry, settings: s.settings)
        #expect(d.withdrawn.count == 1 && d.withdrawn[0].alert.agencyId == "AMR")
        #expect(d.raised.map(\.agencyId) == ["ENV"])
    }

    /// A clock months ahead of the positions (a history published now) judges at once, but what is
    /// forgotten goes by the positions' time: a scan an hour behind still withdraws.
    @Test func aClockFarAheadJudgesAtOnceAndForgetsByThePositionsTime() {
        let (s, visits) = Self.town()
        var j = ScanJudge()
        let clock = Town.t("2025-12-05 10:00"), positions = Town.t("2025-06-17 11:00")
        j.visit(visits[0])
        let raised = j.judge(now: clock, eventTime: positions, registry: s.registry, settings: s.settings).raised
        #expect(raised.count == 1)
        j.add(Self.scan("S1", "AMR", "2025-06-17 09:50"), registry: s.registry, settings: s.settings)
        let d = j.judge(now: clock, eventTime: positions + Self.hour, registry: s.registry, settings: s.settings)
        #expect(d.withdrawn.map(\.alert.alertId) == raised.map(\.alertId))
    }

    @Test func judgedOccasionsAndOldScansAreForgottenAfterAWeek() {
        let (s, visits) = Self.town()
        var j = ScanJudge()
        j.add(Self.scan("S-old", "FIRE", "2025-06-01 10:00"), registry: s.registry, settings: s.settings)
        j.visit(visits[0])
        _ = j.judge(now: Town.t("2025-06-18 10:00"), registry: s.registry, settings: s.settings)
        #expect(j.judgedCount == 1)
        _ = j.judge(now: Town.t("2025-06-25 10:01"), registry: s.registry, settings: s.settings)
        #expect(j.judgedCount == 0 && j.book.count == 0)
        // A scan for it now is one without a visit: nothing to withdraw.
        j.add(Self.scan("S1", "AMR", "2025-06-17 09:50"), registry: s.registry, settings: s.settings)
        #expect(j.judge(now: Town.t("2025-06-25 10:02"), registry: s.registry, settings: s.settings).isEmpty)
    }
}
