import Foundation
import GRDB
import InspectionCore
@testable import InspectionStore
import Testing

/// The audit tables are bounded in bytes, not only rows (issue 28 item 4): a dead letter keeps a
/// prefix of its payload with the whole one's length and digest; late positions have a cap.
@Suite struct AuditBoundsTests {
    @Test func aHugeDeadLetterKeepsAPrefixItsLengthAndDigest() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("audit-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try Store(path: dir.appendingPathComponent("store.sqlite").path, latePositionLimit: 10)
        var b = StoreBatch()
        let huge = [UInt8](repeating: 0x41, count: 2_000_000)
        for k in 0..<5 {
            b.deadLetters.append((receivedAt: Millis(k), topic: "vehicles/x/position", reason: .tooLarge,
                                  message: "payload of 2000000 bytes is over 65536", payload: huge))
        }
        for k in 0..<25 { b.latePositions.append((vehicleId: "V1", ts: Millis(k), lat: 30, lon: 121, receivedAt: Millis(k))) }
        try store.commit(b)
        let (bytes, lengths, digests) = try store.pool.read { db in
            (try Int.fetchOne(db, sql: "SELECT sum(length(payload)) FROM dead_letters") ?? 0,
             try Int.fetchAll(db, sql: "SELECT payload_length FROM dead_letters"),
             try String.fetchAll(db, sql: "SELECT payload_digest FROM dead_letters"))
        }
        #expect(bytes == 5 * Store.deadLetterPayloadPrefix)  // was 10 MB
        #expect(lengths == Array(repeating: 2_000_000, count: 5))
        #expect(Set(digests) == [Store.digest(huge)] && digests[0].count == 16)
        #expect(Store.digest(huge) != Store.digest(Array(huge.prefix(4096))))  // names the whole payload
        #expect(try store.count("late_positions") == 10)  // the newest, up to the cap
    }
}
