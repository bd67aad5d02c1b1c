import Dispatch
import Foundation
import InspectionCore
import InspectionStore
import Logging
import NIOConcurrencyHelpers

/// Saves the engine's checkpoint on its own thread, one at a time (the WAL's checkpoints are
/// `WALCheckpointer`'s, another thing): encoding the engine's state takes long
/// enough with a year of occasions to hold alerts back otherwise.
/// The outputs up to the checkpoint's sequence number are committed before it is submitted, and
/// the journal is pruned only once it is stored.
/// `@unchecked Sendable`: `storedChunks` is only touched on its serial queue; `busy` is boxed.
final class EngineStateSaver: @unchecked Sendable {
    private let queue = DispatchQueue(label: "inspection-watch.checkpoint")
    private let group = DispatchGroup()
    private let busy = NIOLockedValueBox(false)
    /// The chunks of kept fixes in the store (read at start; the checkpoint's thread's own after).
    private var storedChunks: Set<UInt64>?

    /// False (and nothing done) while the previous one is still being written.
    func submit(engine: Engine, seq: Int64, store: Store, journal: JournalFile, logger: Logger) -> Bool {
        // Checked and set under one lock: two submits never both start.
        guard busy.withLockedValue({ b in defer { b = true }; return !b }) else { return false }
        queue.async(group: group) { [self] in
            defer { busy.set(false) }
            do {
                let began = DispatchTime.now()
                // The full chunks of kept fixes apart: each written once, the checkpoint naming them.
                let (slim, apart) = engine.checkpoint().keepingFullChunksApart()
                let stored = try storedChunks ?? store.historyChunkIds()
                let encoder = JSONEncoder()
                let fresh = try apart.filter { !stored.contains($0.id) }.map { (id: $0.id, data: try encoder.encode($0.chunk)) }
                let named = Set(apart.map(\.id))
                let state = try encoder.encode(slim)
                try store.saveCheckpoint(seq: seq, state: state, chunks: fresh, drop: Array(stored.subtracting(named)))
                storedChunks = named
                DaemonMetrics.checkpointDuration.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - began.uptimeNanoseconds))
                DaemonMetrics.checkpointBytes.record(state.count)
                journal.prune(through: seq)
            } catch {
                logger.error("checkpoint not saved; the journal is kept", metadata: ["iw.error": "\(error)"])
            }
        }
        return true
    }

    func wait() { group.wait() }
}
