import InspectionCore
import InspectionStore

/// What the supervision office's HTTP side needs from the daemon, and no more: the store to read,
/// the live feed, commands for the engine's thread, and health. `Daemon` is one; the HTTP module
/// depends on this, not on the daemon's class.
public protocol OfficeBackend: Sendable {
    /// The store, for reading (writes go through `submit`).
    var store: Store { get }
    /// Alerts and status changes as they happen (the live stream).
    var feed: AlertFeed { get }
    /// A change carried out on the engine's thread between batches (task changes, a reload).
    func submit(_ command: Command) async -> Result<CommandResult, CommandError>
    /// A code scan posted through the API: journaled (durable) and handed to the engine like one
    /// from MQTT; stored once the engine has taken it. Fails only while the daemon cannot take it.
    func submitScan(_ scan: Scan) -> Result<Void, CommandError>
    /// Each tracker's newest accepted position, by tracker id, as the engine has it (within about
    /// a second: the engine's thread takes the copy between batches).
    func lastPositions() async -> [String: Fix]
    /// Whether the broker is connected and the store writable, with the details `/health` shows.
    func health() -> (ok: Bool, detail: [String: String])
}
