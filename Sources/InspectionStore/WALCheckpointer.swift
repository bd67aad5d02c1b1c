import Foundation
import GRDB
import GRDBSQLite

/// What the background checkpoints did so far: how many ran, how many of those ended with a FULL
/// checkpoint (holding the writer back), how many failed; the last one's WAL pages and pages copied.
public struct WALCheckpoints: Sendable, Equatable {
    public var runs = 0
    public var fulls = 0
    /// Wake-ups whose every attempt failed (the WAL keeps its pages until the next one).
    public var failures = 0
    /// Attempts that failed and were tried again at once (a transient busy), and the last error.
    public var retries = 0
    public var lastError: String?
    public var walFrames = 0
    public var copied = 0
}

/// WAL checkpoints on a thread and a connection of their own, so that no commit copies the WAL.
///
/// SQLite's automatic checkpoint runs inside the commit that takes the WAL past 1,000 pages: that
/// commit copies the WAL's pages into the database file and syncs it. With the daemon's alert
/// traffic (a hundred random index pages a commit) it made one commit in a hundred hundreds of
/// times slower than the rest, and the batches behind it waited. Here the writer connection's WAL hook
/// replaces the automatic checkpoint (it disables it) and only wakes this thread, which copies
/// with PASSIVE checkpoints, which block no one: each copies what was committed while the one
/// before ran, until one finds the WAL as the one before found it, every page copied
/// (`anotherRound`). The next commit then starts the WAL again from its beginning (a single
/// PASSIVE one never catches up with a writer that commits while it runs: the WAL grew without
/// end in the daemon benchmark).
///
/// A FULL checkpoint, which holds the writer back until it is done, is only the fallback when the
/// WAL grew to twice the threshold all the same (32 MiB, `journal_size_limit`). It used to follow
/// every PASSIVE one: under the benchmark's alert bursts it held the writer back more than once a
/// second, and the alerts waited behind it; left to three times the threshold, one such
/// checkpoint's writes slowed a commit by seconds. Since the rounds go on until nothing new came,
/// the fallback finds little left to copy (docs/performance.md, 2026-12-04, has the figures).
/// `@unchecked Sendable`: its flags and figures are behind `cond`; the connection is its thread's own.
final class WALCheckpointer: @unchecked Sendable {
    /// WAL pages that wake the thread: 16 MiB, four times SQLite's automatic threshold (fewer,
    /// longer checkpoints: each syncs the WAL and the database file).
    static let threshold: Int32 = 4000
    /// PASSIVE checkpoints a wake-up at most: each copies what was committed while the one before
    /// ran, a shorter tail each time, until one finds nothing new (the next commit then starts the
    /// WAL again from its beginning).
    static let passiveRounds = 8
    /// WAL pages past which a FULL checkpoint follows the PASSIVE ones: the WAL did not start
    /// again (readers kept old snapshots, commits never paused long enough for a round to catch
    /// up), and the writer is held back for the rest.
    static let fullAbove = 2 * Int(threshold)
    private let path: String
    private let cond = NSCondition()
    private var wanted = false
    private var stopping = false
    private var finished = false
    private var connection: DatabaseQueue?
    /// For tests and metrics; `copied` also decides when the next commit wakes the thread.
    private var done = WALCheckpoints()

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
                Unmanaged<WALCheckpointer>.fromOpaque(ctx).takeUnretainedValue().committed(walPages: Int(pages))
            }
            return SQLITE_OK
        }, me)
    }

    /// A commit left the WAL at `walPages` (at least the threshold). Once a checkpoint has copied
    /// the WAL, it starts again from its beginning with a commit that finds every page copied and
    /// no reader in the WAL — a chance a checkpoint woken by every commit would rarely leave it.
    /// So a WAL that did not start again wakes the thread only when it has grown by a quarter of
    /// the threshold since the last checkpoint.
    func committed(walPages: Int) {
        cond.withLock {
            guard !wanted, Self.wakes(walPages: walPages, copiedThrough: done.copied) else { return }
            wanted = true
            cond.signal()
        }
    }

    /// Whether a commit that left the WAL at `walPages` (at least the threshold) wakes the
    /// thread, the last checkpoint having found `copiedThrough` pages copied: the WAL started
    /// again since (it is shorter now), or it grew by a quarter of the threshold.
    static func wakes(walPages: Int, copiedThrough: Int) -> Bool {
        walPages < copiedThrough || walPages >= copiedThrough + Int(threshold) / 4
    }

    /// Whether a PASSIVE checkpoint follows `then`, which followed `previous`. A round's figures
    /// are the WAL as that round found it when it began: every page it found copied says nothing of
    /// the commits made while it ran. Only a round that finds the WAL no longer than the round
    /// before found it, and every page copied, shows the WAL wholly in the database file — the
    /// state in which the next commit starts it again from its beginning.
    static func anotherRound(after previous: (walFrameCount: Int, checkpointedFrameCount: Int),
                             then: (walFrameCount: Int, checkpointedFrameCount: Int)) -> Bool {
        then.walFrameCount != previous.walFrameCount || then.checkpointedFrameCount < then.walFrameCount
    }

    var state: WALCheckpoints { cond.withLock { done } }

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

    /// Attempts a wake-up makes before it gives up until the next: a checkpoint that fails is most
    /// often busy for a moment (a connection opening while the writer commits back to back on a
    /// machine short of CPU), and the next wake-up may be a long way off.
    static let attempts = 3

    private func checkpoint() {
        for attempt in 1...Self.attempts {
            if attemptCheckpoint() { return }
            if attempt < Self.attempts {
                cond.withLock { done.retries += 1 }
                usleep(20_000)
            }
        }
        cond.withLock { done.failures += 1 }
    }

    /// One checkpoint: true when it ran.
    private func attemptCheckpoint() -> Bool {
        do {
            if connection == nil {
                var c = Configuration()
                // A FULL step (the fallback) waits for the writer's commit to end (a slow one
                // takes 0.1–0.3 s under load), then for readers of an older snapshot — holding
                // the writer back meanwhile. At most ~0.3 s in all, then it gives up; the next
                // wake-up tries again.
                c.busyMode = .callback { tries in usleep(250); return tries < 1200 }
                c.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = NORMAL") }
                connection = try DatabaseQueue(path: path, configuration: c)
            }
            let (r, full) = try connection!.writeWithoutTransaction { db in
                var r = try db.checkpoint(.passive)
                var rounds = 1
                while rounds < Self.passiveRounds {
                    let next = try db.checkpoint(.passive)
                    rounds += 1
                    let again = Self.anotherRound(after: r, then: next)
                    r = next
                    if !again { break }
                }
                guard r.walFrameCount >= Self.fullAbove else { return (r, false) }
                return (try db.checkpoint(.full), true)
            }
            cond.withLock {
                done.runs += 1
                if full { done.fulls += 1 }
                done.walFrames = r.walFrameCount
                done.copied = r.checkpointedFrameCount
            }
            return true
        } catch {
            // Busy (a reader of an old snapshot, a backup) or an I/O error: the WAL keeps the
            // pages; tried again, and after that the next commit past the threshold wakes the
            // thread again (the commits themselves are unaffected; a store that cannot write
            // fails there, where it is reported).
            cond.withLock { done.lastError = "\(error)" }
            return false
        }
    }
}
