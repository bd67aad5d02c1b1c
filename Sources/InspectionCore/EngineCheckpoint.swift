/// What `Engine.checkpoint()` keeps: enough to resume exactly where the input was left, as a
/// plain Codable value (the daemon stores it in SQLite with the journal position it belongs to).
public struct EngineCheckpoint: Codable, Sendable {
    /// Tracker ids in the engine's numbering.
    public var vehicles: [String]
    /// Site ids in the numbering the tracks and open visits use.
    public var siteIds: [String]
    var tracks: [VehicleTrack]
    var openVisits: [OpenVisit]
    var rules: RuleEngine.State
    public var counts: RejectCounts
    public var accepted: Int
    /// Each vehicle's recent fixes and the visits seen at each enterprise, for late positions
    /// (nil from an engine that does not work them in, or from before it did).
    var histories: [TrackHistory]?
    var seen: [String: [Engine.SeenVisit]]?
    var lateReconciled: Int?
    /// Scans and the occasions waiting to be judged (nil when scans are not judged).
    var scans: ScanJudge?

    struct OpenVisit: Codable, Sendable {
        var vehicle: Int32
        var site: Int32
        var start: Millis
        var record: VisitRecord
    }

    /// Vehicles with an open stay (for the log line a restart writes).
    public var openStays: Int { tracks.lazy.filter { $0.stay != nil }.count }

    /// Recent fixes kept for late positions.
    public var historyFixes: Int { histories?.reduce(0) { $0 + $1.count } ?? 0 }
}
