import ArgumentParser
import Foundation
import GRDB
import InspectionStore

/// How fast the daemon can journal QoS 1 messages before acknowledging them: the journal file (a
/// copy into its mapping per message; a `write` each before 2026-12-04) against one committed
/// SQLite insert per message (WAL, synchronous=NORMAL), the design it replaced, in the same run.
struct JournalThroughput: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "journal")
    @Option var messages = 50_000
    @Option var dir = NSTemporaryDirectory()

    func run() throws {
        let payload = Array(#"{"vehicle":"v1","ts":1750123456,"lat":30.17,"lon":121.26,"speed":12.5}"#.utf8)
        let base = dir + "/journal-bench-\(UUID().uuidString)"
        defer {
            for s in [".sqlite", ".sqlite-wal", ".sqlite-shm"] { try? FileManager.default.removeItem(atPath: base + s) }
            try? FileManager.default.removeItem(atPath: base + ".journal")
        }
        var config = Configuration()
        config.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = NORMAL") }
        let pool = try DatabasePool(path: base + ".sqlite", configuration: config)
        try pool.write { db in
            try db.execute(sql: "CREATE TABLE journal (seq INTEGER PRIMARY KEY, received_at INTEGER, subscription INTEGER, topic TEXT, payload BLOB)")
        }
        var t = Clock.now()
        for i in 0..<messages {
            try pool.write { db in
                try db.cachedStatement(sql: "INSERT INTO journal (received_at, subscription, topic, payload) VALUES (?, ?, ?, ?)")
                    .execute(arguments: [Int64(i), 0, "vehicles/v1/position", Data(payload)])
            }
        }
        let sqlite = Clock.now() - t
        let journal = try JournalFile(directory: base + ".journal")
        t = Clock.now()
        for i in 0..<messages { _ = try journal.append(receivedAt: Int64(i), subscription: 0, topic: "vehicles/v1/position", payload: payload) }
        let file = Clock.now() - t
        print(String(format: "journal, SQLite commit per message:  %9.0f msg/s", Double(messages) / sqlite))
        print(String(format: "journal, file (mapped) per message:  %9.0f msg/s (%.1fx)", Double(messages) / file, sqlite / file))
    }
}
