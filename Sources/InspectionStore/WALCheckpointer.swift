import Foundation
import GRDB
import GRDBSQLite

/// WAL checkpoints on a thread and a connection of their own, so that no commit copies the WAL.
///
/// SQLite's automatic checkpoint runs inside the commit that takes the WAL past 1,000 pages: that
/// commit copies the WAL's pages into the database file and syncs it. With the daemon's alert
/// traffic (a hundred random index pages a commit) it made one commit in a hundred take 0.2–0.8 s
/// instead of 0.2 ms, and the batches behind it waited. Here the writer connection's WAL hook
/// replaces the automatic checkpoint (it disables it) and only wakes this thread, which copies in
/// two steps: a PASSIVE checkpoint copies the bulk without blocking anyone, then a FULL one copies
/// what was committed meanwhile — the writer waits for that tail only (a few pages, a sync).
/// A passive checkpoint alone never catches up with a writer that commits while it runs: the WAL
/// would never start again from its beginning and grew by the megabyte a second (317 MB in
/// five minutes of the daemon benchmark). After the FULL one the next commit starts it again.
final class WALCheckpointer: @unchecked Sendable {
    /// WAL pages that wake the thread: 16 MiB, four times SQLite's automatic threshold. Each
    /// checkpoint's FULL step holds the writer back for its sync (10–30 ms here): at 1,000 pages
    /// that was several times a second under the benchmark's alert bursts.
    static let threshold: Int32 = 4000
    private let path: String
    private let cond = NSCondition()
    private var wanted = false
    private var stopping = false
    private var finished = false
    private var connection: DatabaseQueue?
    /// Checkpoints run, and the last one's WAL pages and pages copied (for tests and metrics).
    private var runs = 0
    private var failures = 0
    private var last: (walFrames: Int, copied: Int) = (0, 0)

    init(path: String) {
        self.path = path
        let t = Thread { [self] in loop() }
        t.name = "wal-checkpoint"
        t.start()
    }

    /// Installs the hook on `db` (the writer's connection): after each commit SQLite reports the
    /// WAL's size; past the threshold the thread is woken. Replaces the automatic checkpoint.
    func install(on db: Database) {
        let me = Unmanaged.passUnretained(self).toOpaque()
        sqlite3_wal_hook(db.sqliteConnection, { ctx, _, _, pages in
            if pages >= WALCheckpointer.threshold, let ctx {
                Unmanaged<WALCheckpointer>.fromOpaque(ctx).takeUnretainedValue().wake()
            }
            return SQLITE_OK
        }, me)
    }

    func wake() { cond.withLock { if !wanted { wanted = true; cond.signal() } } }

    /// Checkpoints run and failed so far; the last one's WAL pages and pages copied.
    var state: (runs: Int, failures: Int, walFrames: Int, copied: Int) {
        cond.withLock { (runs, failures, last.walFrames, last.copied) }
    }

    /// Ends the thread (after the checkpoint running now, if any).
    func stop() {
        cond.withLock {
            stopping = true
            cond.broadcast()
            while !finished { cond.wait() }
        }
    }

    private func loop() {
        while true {
            cond.lock()
            while !wanted && !stopping { cond.wait() }
            let done = stopping
            wanted = false
            cond.unlock()
            if done { break }
            checkpoint()
        }
        connection = nil
        cond.withLock { finished = true; cond.broadcast() }
    }

    private func checkpoint() {
        do {
            if connection == nil {
                var c = Configuration()
                // The FULL step waits for the writer's commit to end (a slow one takes 0.1–0.3 s
                // under load; giving up sooner let the WAL grow to 69 MB), then for readers of
                // an older snapshot — holding the writer back meanwhile. At most ~0.3 s in all,
                // then it gives up; the next wake-up tries again.
                c.busyMode = .callback { tries in usleep(250); return tries < 1200 }
                c.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = NORMAL") }
                connection = try DatabaseQueue(path: path, configuration: c)
            }
            let r = try connection!.writeWithoutTransaction { db in
                _ = try db.checkpoint(.passive)
                return try db.checkpoint(.full)
            }
            cond.withLock { runs += 1; last = (r.walFrameCount, r.checkpointedFrameCount) }
        } catch {
            // Busy (a reader of an old snapshot, a backup) or an I/O error: the WAL keeps the
            // pages, and the next commit past the threshold wakes the thread again (the commits
            // themselves are unaffected; a store that cannot write fails there, where it is reported).
            cond.withLock { failures += 1 }
        }
    }
}
