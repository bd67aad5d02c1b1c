import ArgumentParser
import Foundation
import InspectionStore

/// How fast the daemon can journal QoS 1 messages: one committed insert per message (what
/// acknowledging only stored messages costs), against a batch of 1,000 per commit as the baseline.
struct JournalThroughput: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "journal")
    @Option var messages = 50_000
    @Option var dir = NSTemporaryDirectory()

    func run() throws {
        let payload = Array(#"{"vehicle":"v1","ts":1750123456,"lat":30.17,"lon":121.26,"speed":12.5}"#.utf8)
        let path = dir + "/journal-bench-\(UUID().uuidString).sqlite"
        defer { for s in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + s) } }
        let store = try Store(path: path)
        var t = Clock.now()
        for i in 0..<messages { try store.append(receivedAt: Int64(i), subscription: 0, topic: "vehicles/v1/position", payload: payload) }
        let single = Clock.now() - t
        t = Clock.now()
        try store.appendBatch((0..<messages).map { (Int64($0), 0, "vehicles/v1/position", payload) }, commitEvery: 1000)
        let batched = Clock.now() - t
        print(String(format: "journal, one commit per message: %.0f msg/s", Double(messages) / single))
        print(String(format: "journal, 1,000 per commit:       %.0f msg/s (%.1fx)", Double(messages) / batched, single / batched))
    }
}
