@testable import InspectionDaemon
import Testing

/// The engine thread's choices (`EngineLoop`) with plain times: no threads, no store.
@Suite struct EngineLoopTests {
    static func facts(_ now: Double, finishing: Bool = false, caughtUp: Bool = true, commands: Bool = false) -> EngineLoop.Facts {
        EngineLoop.Facts(now: now, finishing: finishing, caughtUp: caughtUp, commandsWaiting: commands)
    }

    static func loop(rematch: Bool = false, first: Bool = false) -> EngineLoop {
        EngineLoop(now: 0, checkpointInterval: 30, rematchPending: rematch, checkpointFirst: first)
    }

    @Test func aPeriodicCheckpointIsTakenAfterTheNextCommitEveryInterval() {
        var l = Self.loop()
        _ = l.batchDone(Self.facts(1))
        #expect(l.rest(now: 1) == [.reportState])
        _ = l.batchDone(Self.facts(29.9))
        #expect(!l.rest(now: 29.9).contains(.checkpoint(waited: false)))
        _ = l.batchDone(Self.facts(30))
        #expect(l.rest(now: 30).first == .checkpoint(waited: false))
        _ = l.batchDone(Self.facts(31))
        #expect(!l.rest(now: 31).contains { if case .checkpoint = $0 { return true }; return false })
    }

    @Test func aStopCheckpointsAndWaitsThenEnds() {
        var l = Self.loop()
        _ = l.batchDone(Self.facts(2, finishing: true))
        let rest = l.rest(now: 2)
        #expect(rest.first == .checkpoint(waited: true))
        #expect(rest.last == .stop)
    }

    @Test func aSucceededCommandIsCheckpointedAtOnceAFailedOneIsNot() {
        var l = Self.loop()
        #expect(l.batchDone(Self.facts(5, commands: true)) == [.commands])
        l.commandSucceeded()
        #expect(l.rest(now: 5).first == .checkpoint(waited: true))
        #expect(l.batchDone(Self.facts(6, commands: true)) == [.commands])  // this one fails: nothing said
        #expect(!l.rest(now: 6).contains(.checkpoint(waited: true)))
    }

    @Test func theRematchAtStartWaitsForTheBacklogThenRunsOnce() {
        var l = Self.loop(rematch: true)
        #expect(l.batchDone(Self.facts(1, caughtUp: false)) == [])
        _ = l.rest(now: 1)
        #expect(l.batchDone(Self.facts(2, caughtUp: true)) == [.rematchAtStart])
        l.rematchDone(changed: true)
        #expect(l.rest(now: 2).first == .checkpoint(waited: true))
        #expect(l.batchDone(Self.facts(3)) == [])
        #expect(!l.rematchPending)
    }

    @Test func whatStartChangedIsCheckpointedOnTheFirstPass() {
        var l = Self.loop(first: true)
        _ = l.batchDone(Self.facts(0.1))
        #expect(l.rest(now: 0.1).first == .checkpoint(waited: false))
    }

    @Test func scansAreJudgedByTheClockEachSecondFirstAndOnlyWhenEnabled() {
        var l = EngineLoop(now: 0, checkpointInterval: 30, rematchPending: false, checkpointFirst: false, judgesScans: true)
        _ = l.batchDone(Self.facts(1))
        #expect(l.rest(now: 1) == [.judgeScans, .reportState])
        _ = l.batchDone(Self.facts(1.5))
        #expect(l.rest(now: 1.5).isEmpty)
        _ = l.batchDone(Self.facts(30, finishing: true))
        #expect(l.rest(now: 30) == [.judgeScans, .checkpoint(waited: true), .reportState, .stop])
        var off = Self.loop()
        _ = off.batchDone(Self.facts(1))
        #expect(!off.rest(now: 1).contains(.judgeScans))
    }

    @Test func theStateIsReportedEachSecond() {
        var l = Self.loop()
        var reported = 0
        for k in 0..<250 {
            let t = Double(k) * 0.1
            _ = l.batchDone(Self.facts(t))
            for a in l.rest(now: t) where a == .reportState { reported += 1 }
        }
        #expect(reported == 25)
    }
}
