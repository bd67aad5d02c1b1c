@testable import InspectionDaemon
import Testing

/// SPEC §3.3: rejected payloads are logged, rate-limited — the first of each reason at once, then
/// at most one line per reason per minute with the count — with plain times.
@Suite struct RejectLogTests {
    @Test func theFirstOfEachReasonIsSaidAtOnceThenOneLinePerMinuteWithTheCount() {
        var log = RejectLog(interval: 60)
        let first = log.rejected(.unparsable, message: "not JSON", topic: "vehicles/V1/position", now: 0)
        #expect(first == .init(reason: .unparsable, count: 1, message: "not JSON", topic: "vehicles/V1/position"))
        // Another reason is said at once too; the same reason waits.
        #expect(log.rejected(.missingField, message: "no ts", topic: "vehicles/V2/position", now: 1)?.count == 1)
        for k in 1...999 { #expect(log.rejected(.unparsable, message: "garbage \(k)", topic: "t\(k)", now: Double(k) * 0.05) == nil) }
        #expect(log.due(now: 59.9).isEmpty)
        // A minute after the first line: one line, the 999 since, the latest as the example.
        #expect(log.due(now: 60) == [.init(reason: .unparsable, count: 999, message: "garbage 999", topic: "t999")])
        #expect(log.due(now: 200).isEmpty)  // nothing waits
        // Quiet for over a minute: the next is said at once again.
        #expect(log.rejected(.unparsable, message: "again", topic: "t", now: 200)?.count == 1)
        #expect(log.rejected(.unparsable, message: "and again", topic: "t", now: 230) == nil)
        // A rejection after the interval with one waiting: said at once, with what waited.
        #expect(log.rejected(.unparsable, message: "third", topic: "t", now: 261) == .init(reason: .unparsable, count: 2, message: "third", topic: "t"))
    }
}
