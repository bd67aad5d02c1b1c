import Foundation
@testable import InspectionDaemon
@testable import InspectionStore
import Testing

/// The ingest queue holds what memory may and leaves the rest in the journal (real segment files in
/// a temporary folder): the engine gets every message once, in order, however far behind it is.
@Suite struct IngestQueueTests {
    /// A journal of small segments in a new temporary folder (removed by `cleanUp`).
    static func freshJournal(segmentBytes: Int = 4096) throws -> (JournalFile, cleanUp: () -> Void) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("journal-\(UUID().uuidString)")
        return (try JournalFile(directory: dir.path, segmentBytes: segmentBytes), { try? FileManager.default.removeItem(at: dir) })
    }

    static func append(_ journal: JournalFile, _ i: Int, durable: Bool = true) throws -> JournalEntry {
        try journal.append(receivedAt: Int64(i), subscription: i % 3, topic: "vehicles/v\(i % 7)/position",
                           payload: Array("{\"i\":\(i)}".utf8), durable: durable)
    }

    /// Everything the queue gives until it has `count` messages.
    static func drain(_ queue: IngestQueue, count: Int, batch: Int = 64) throws -> [JournalEntry] {
        var out: [JournalEntry] = []
        let deadline = Date().addingTimeInterval(30)
        while out.count < count && Date() < deadline {
            out += try queue.take(max: batch, until: Date().addingTimeInterval(0.05))
        }
        return out
    }

    @Test func whatMemoryCannotHoldIsReadBackFromTheJournalInOrder() throws {
        let (journal, cleanUp) = try Self.freshJournal()
        defer { cleanUp() }
        let queue = IngestQueue(capacity: 10, journal: journal)
        var sent: [JournalEntry] = []
        for i in 1...500 { let e = try Self.append(journal, i); sent.append(e); queue.push(e) }
        #expect(queue.depth == 500)
        #expect(queue.spilledCount == 490)
        #expect(journal.segmentCount > 5, "the test means to read across segments")
        let got = try Self.drain(queue, count: 500)
        #expect(got.map(\.seq) == sent.map(\.seq))
        #expect(got.map(\.payload) == sent.map(\.payload))
        #expect(got.map(\.topic) == sent.map(\.topic))
        #expect(got.map(\.subscription) == sent.map(\.subscription))
        #expect(queue.depth == 0)
        // Caught up: memory serves again.
        let next = try Self.append(journal, 501)
        queue.push(next)
        #expect(queue.spilledCount == 490)
        #expect(try queue.take(max: 10, until: Date()).map(\.seq) == [next.seq])
    }

    @Test func aProducerThatNeverWaitsAndAConsumerThatLagsLoseAndDoubleNothing() throws {
        let (journal, cleanUp) = try Self.freshJournal(segmentBytes: 64 << 10)
        defer { cleanUp() }
        let queue = IngestQueue(capacity: 50, journal: journal)
        let total = 20_000
        let producer = Thread {
            // QoS 0 and QoS 1 mixed: the buffered ones must be found too.
            for i in 1...total { queue.push(try! Self.append(journal, i, durable: i % 5 == 0)) }
        }
        producer.start()
        var got: [JournalEntry] = []
        // A bound only against a hang: a machine kept busy by other work may need minutes.
        let deadline = Date().addingTimeInterval(900)
        while got.count < total && Date() < deadline {
            got += try queue.take(max: 97, until: Date().addingTimeInterval(0.05), gather: 0.001)
            if got.count % 10 == 0 { usleep(200) }  // a slow engine now and then
        }
        #expect(got.count == total)
        #expect(got.map(\.seq) == (1...Int64(total)).map { $0 })
        #expect(queue.spilledCount > 0, "the consumer never fell behind: the test shows nothing")
    }

    @Test func aStopTakesOnlyWhatMemoryHolds() throws {
        let (journal, cleanUp) = try Self.freshJournal()
        defer { cleanUp() }
        let queue = IngestQueue(capacity: 10, journal: journal)
        for i in 1...30 { queue.push(try Self.append(journal, i)) }
        #expect(try queue.take(max: 100, until: Date(), journal: false).map(\.seq) == (1...10).map { $0 })
        #expect(try queue.take(max: 100, until: Date(), journal: false).isEmpty)
        #expect(queue.depth == 20)
        // The next start reads the rest from the journal after what was processed.
        let reader = JournalFile.Reader(journal)
        #expect(try reader.read(from: 11, max: 100).map(\.seq) == (11...30).map { $0 })
    }

    @Test func theReaderStartsAnywhereAndStopsAtTheLastWholeRecord() throws {
        let (journal, cleanUp) = try Self.freshJournal()
        defer { cleanUp() }
        for i in 1...300 { _ = try Self.append(journal, i) }
        let reader = JournalFile.Reader(journal)
        #expect(try reader.read(from: 123, through: 130, max: 100).map(\.seq) == (123...130).map { $0 })
        #expect(try reader.read(from: 131, max: 5).map(\.seq) == (131...135).map { $0 })
        #expect(try reader.read(from: 7, max: 3).map(\.seq) == [7, 8, 9])  // backwards: sought again
        #expect(try reader.read(from: 290, max: 100).map(\.seq) == (290...300).map { $0 })
        #expect(try reader.read(from: 301, max: 100).isEmpty)
        // A torn record after the last one (a crash inside the copy) is not read.
        let last = journal.directory + "/" + (try #require(Self.segments(journal).last))
        try Self.tear(last)
        #expect(try reader.read(from: 301, max: 100).isEmpty)
    }

    /// The first bytes of a record written right after the last whole record of a segment, inside
    /// the blocks allocated ahead: what a crash in the middle of a copy leaves.
    static func tear(_ path: String) throws {
        let good = try JournalFile.read(path).goodBytes
        let fd = open(path, O_WRONLY)
        defer { close(fd) }
        let n = [UInt8]([0xA5, 40, 0, 0, 0x12, 0x34]).withUnsafeBytes { pwrite(fd, $0.baseAddress, 6, off_t(good)) }
        #expect(n == 6)
    }

    /// A journal left by a crash (zeros allocated ahead after its last record, or a torn copy) is
    /// opened at its last whole record: numbering goes on from it, new records follow it without a
    /// gap, and a reader gets every record once, in order, across the restart.
    @Test func aJournalLeftByACrashGoesOnAfterItsLastWholeRecord() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("journal-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        var journal: JournalFile? = try JournalFile(directory: dir.path, segmentBytes: 1 << 20)
        for i in 1...50 { _ = try Self.append(journal!, i, durable: i % 2 == 0) }
        try journal!.flush()
        let path = dir.path + "/" + (try #require(Self.segments(journal!).first))
        let size = { (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0 }
        #expect(size() >= JournalFile.extent, "blocks are allocated ahead, an extent at a time")
        journal = nil  // gone without a word, as in a crash: the mapping's pages are the file's
        try Self.tear(path)
        journal = try JournalFile(directory: dir.path)
        #expect(journal!.nextSeq == 51)
        for i in 51...60 { _ = try Self.append(journal!, i) }
        let reader = JournalFile.Reader(journal!)
        let got = try reader.read(from: 1, max: 100)
        #expect(got.map(\.seq) == (1...60).map { $0 })
        #expect(got.map(\.payload) == (1...60).map { Array("{\"i\":\($0)}".utf8) })
        #expect(try JournalFile.read(path).entries.count == 60)  // one run of whole records, the torn one overwritten
    }

    /// The segment files' names, oldest first.
    static func segments(_ journal: JournalFile) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: journal.directory).filter { $0.hasSuffix(".seg") }.sorted()
    }
}
