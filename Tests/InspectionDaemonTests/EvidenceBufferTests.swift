import Foundation
@testable import InspectionDaemon
import GRDB
import InspectionCore
import InspectionStore
import InspectionTestSupport
import Logging
import Testing

/// The positions of open visits wait and are written together: when the visit closes, when they
/// have waited long enough, when too many wait, and before what follows the commits.
@Suite struct EvidenceBufferTests {
    static let t0: Millis = 1_750_000_000_000

    static func visit(_ id: String, end: Millis? = nil) -> VisitRecord {
        VisitRecord(visitId: id, vehicleId: "V", agencyId: "A1", siteId: "S", enterpriseId: "E", start: t0, end: end,
                    points: 1, taskId: nil, occasionId: "o-\(id)", openedAt: t0)
    }

    static func fixes(_ from: Int, _ n: Int) -> [Fix] { (from..<from + n).map { Fix(ts: t0 + Millis($0) * 1000, lat: 60.45, lon: 26.94) } }

    static func batch(visits: [VisitRecord] = [], evidence: [(String, [Fix])]) -> StoreBatch {
        var b = StoreBatch()
        b.visits = visits
        b.evidence = evidence.map { (visitId: $0.0, fixes: $0.1) }
        return b
    }

    static func written(_ p: EvidenceBuffer.Plan) -> [String: Int] {
        p.write.reduce(into: [:]) { $0[$1.visitId, default: 0] += $1.fixes.count }
    }

    @Test func anOpenVisitsPositionsWaitUntilItCloses() {
        var buffer = EvidenceBuffer(flushAfter: 5_000, limit: 1_000)
        // v1 opens with 3 positions, v2 with 2; then each gets one more a batch.
        var p = buffer.plan([Self.batch(visits: [Self.visit("v1"), Self.visit("v2")], evidence: [("v1", Self.fixes(0, 3)), ("v2", Self.fixes(0, 2))])], now: 0)
        #expect(p.write.isEmpty)
        buffer.apply(p, now: 0)
        p = buffer.plan([Self.batch(evidence: [("v1", Self.fixes(3, 1)), ("v2", Self.fixes(2, 1))])], now: 1_000)
        #expect(p.write.isEmpty)
        buffer.apply(p, now: 1_000)
        #expect(buffer.count == 7)
        // v1 closes with one last position: all five of its positions go with the close, v2's wait.
        p = buffer.plan([Self.batch(visits: [Self.visit("v1", end: Self.t0 + 4_000)], evidence: [("v1", Self.fixes(4, 1))])], now: 2_000)
        #expect(Self.written(p) == ["v1": 5])
        #expect(p.write.flatMap(\.fixes).map(\.ts).sorted() == Self.fixes(0, 5).map(\.ts))
        buffer.apply(p, now: 2_000)
        #expect(buffer.count == 3)
        #expect(buffer.waiting.keys.sorted() == ["v2"])
    }

    @Test func positionsThatWaitedLongEnoughOrTooManyAreWrittenWhole() {
        var buffer = EvidenceBuffer(flushAfter: 5_000, limit: 10)
        var p = buffer.plan([Self.batch(visits: [Self.visit("v1")], evidence: [("v1", Self.fixes(0, 4))])], now: 10_000)
        buffer.apply(p, now: 10_000)
        #expect(!buffer.due(now: 14_999))
        #expect(buffer.due(now: 15_000))
        // Due: the next transaction takes everything, its own batch's positions too.
        p = buffer.plan([Self.batch(evidence: [("v2", Self.fixes(0, 1))])], now: 15_000)
        #expect(p.everything)
        #expect(Self.written(p) == ["v1": 4, "v2": 1])
        buffer.apply(p, now: 15_000)
        #expect(buffer.isEmpty)
        #expect(!buffer.due(now: 100_000))
        // More than `limit` waiting: written whole at once.
        p = buffer.plan([Self.batch(evidence: [("v1", Self.fixes(10, 6))])], now: 16_000)
        #expect(!p.everything)
        buffer.apply(p, now: 16_000)
        p = buffer.plan([Self.batch(evidence: [("v3", Self.fixes(0, 5))])], now: 16_100)
        #expect(p.everything)
        #expect(Self.written(p) == ["v1": 6, "v3": 5])
    }

    /// On a real store: positions of a visit that stays open are stored only once something asks
    /// for everything (`drain`, which precedes commands and checkpoints), or at the stop; a
    /// closing visit's are stored with its close. A commit that fails loses none of them.
    @Test func theWriterStoresWaitingPositionsWithTheCloseAndBeforeWhatFollows() throws {
        let (store, cleanUp) = try StoreWriterTests.freshStore()
        defer { cleanUp() }
        let writer = StoreWriter(store: store, faults: Faults(logger: Logger(label: "test")), committed: { _ in }, idle: { _ in })
        var first = Self.batch(visits: [Self.visit("v1"), Self.visit("v2")], evidence: [("v1", Self.fixes(0, 3)), ("v2", Self.fixes(0, 3))])
        first.processedSeq = 1
        #expect(writer.submit(first))
        #expect(eventually(10) { (try? store.processedSeq()) == 1 })
        // The close's transaction fails (as a full disk would fail it) and is tried again: the
        // positions that waited are not lost with it.
        let other = try DatabaseQueue(path: store.path)
        try other.write { try $0.execute(sql: "CREATE TRIGGER refuse BEFORE INSERT ON visit_positions BEGIN SELECT RAISE(ABORT, 'refused'); END") }
        var close = Self.batch(visits: [Self.visit("v1", end: Self.t0 + 3_000)], evidence: [("v1", Self.fixes(3, 1)), ("v2", Self.fixes(3, 1))])
        close.processedSeq = 2
        #expect(writer.submit(close))
        Thread.sleep(forTimeInterval: 1.5)
        #expect(try store.processedSeq() == 1)
        try other.write { try $0.execute(sql: "DROP TRIGGER refuse") }
        #expect(eventually(10) { (try? store.processedSeq()) == 2 })
        #expect(try store.evidence(visitId: "v1").map(\.ts) == Self.fixes(0, 4).map(\.ts))
        #expect(try store.evidence(visitId: "v2").isEmpty)  // still open: its positions wait
        final class Seen: @unchecked Sendable { var v2: Int? }
        let seen = Seen()
        writer.afterCommit { seen.v2 = try? store.evidence(visitId: "v2").count }  // a checkpoint's place
        #expect(writer.drain())
        #expect(seen.v2 == 4)
        #expect(try store.count("visit_positions") == 8)
        var more = Self.batch(evidence: [("v2", Self.fixes(4, 2))])
        more.processedSeq = 3
        #expect(writer.submit(more))
        writer.stop()
        #expect(try store.evidence(visitId: "v2").count == 6)
    }
}
