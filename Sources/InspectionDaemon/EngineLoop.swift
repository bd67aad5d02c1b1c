/// The engine thread's choices after each batch, as values (the way swift-nio's state machines
/// return actions): whether the re-match at start runs now, whether the waiting commands run,
/// when the engine's checkpoint is taken and how, when the state is reported, when the loop
/// ends. `EngineRunner` carries the actions out; `EngineLoopTests` drive it with plain times.
struct EngineLoop: Equatable {
    /// What the engine's thread found after a batch.
    struct Facts: Equatable {
        /// Seconds on a monotonic clock.
        var now: Double
        /// SIGTERM or SIGINT: this is the last pass.
        var finishing: Bool
        /// The journal's backlog at start is through, or nothing waits (a re-match at start waits
        /// for that: the backlog was read under the old tasks).
        var caughtUp: Bool
        var commandsWaiting: Bool
    }

    /// Before the commands: what to run now.
    enum Run: Equatable { case rematchAtStart, commands }

    /// After them: what else to do, in this order.
    enum Action: Equatable {
        /// Occasions due by the clock judged for code scans (SPEC §3.5), when no message judged
        /// them: the receive clock and the positions judge them as messages come.
        case judgeScans
        /// The engine's checkpoint once the store has what it covers: `waited` — now, the writer
        /// drained and the checkpoint written before going on (a stop, or after a change of tasks
        /// or registry: the journal before it was read under the old ones); otherwise after the
        /// writer's next commit, written off this thread.
        case checkpoint(waited: Bool)
        /// Metrics and `/health` from the queues and the store, and the loop's heartbeat
        /// (systemd's watchdog is fed while it beats: `SystemdService`).
        case reportState
        case stop
    }

    let checkpointInterval: Double
    /// Whether code scans are judged (`scans.enabled`).
    let judgesScans: Bool
    private var lastJudged = -Double.infinity
    private(set) var rematchPending: Bool
    private var lastCheckpoint: Double
    private var lastState = -Double.infinity
    private var changed = false
    private var finishing = false

    /// `rematchPending`: tasks changed while the daemon was down (matched again once caught up);
    /// `checkpointFirst`: what was done at start changed the engine, so the first pass checkpoints.
    init(now: Double, checkpointInterval: Double, rematchPending: Bool, checkpointFirst: Bool, judgesScans: Bool = false) {
        self.checkpointInterval = checkpointInterval
        self.judgesScans = judgesScans
        self.rematchPending = rematchPending
        lastCheckpoint = checkpointFirst ? -Double.infinity : now
    }

    /// A batch was processed and handed to the store: what runs before the checkpoint.
    mutating func batchDone(_ f: Facts) -> [Run] {
        finishing = f.finishing
        changed = false
        var run: [Run] = []
        if rematchPending && f.caughtUp { run.append(.rematchAtStart) }
        if f.commandsWaiting { run.append(.commands) }
        return run
    }

    /// The re-match at start ran; `changed`: it changed the engine's occasions or the store.
    mutating func rematchDone(changed c: Bool) {
        rematchPending = false
        if c { changed = true }
    }

    /// A task change or reload succeeded: the engine's state changed.
    mutating func commandSucceeded() { changed = true }

    /// What is left of the pass, in order.
    mutating func rest(now: Double) -> [Action] {
        var out: [Action] = []
        if judgesScans && now - lastJudged >= 1 {
            out.append(.judgeScans)
            lastJudged = now
        }
        let waited = finishing || changed
        if waited || now - lastCheckpoint >= checkpointInterval {
            out.append(.checkpoint(waited: waited))
            lastCheckpoint = now
        }
        if now - lastState >= 1 {
            out.append(.reportState)
            lastState = now
        }
        if finishing { out.append(.stop) }
        return out
    }
}
