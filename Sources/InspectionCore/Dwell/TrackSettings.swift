/// The scalars a vehicle's track needs, copied out of `EngineSettings` once: passing them per
/// position costs no reference counting.
public struct TrackSettings: Sendable, Equatable {
    public var exitGrace: Millis
    public var maxGap: Millis
    public var minDwell: Millis
    public var maxSpeedKmh: Double
    public var reanchorFixes: Int
    public var silentGap: Millis
    public var silentRadiusM: Double
    /// Report the positions that make each visit (`TrackEvent.evidence`); the daemon stores them.
    public var collectEvidence = false

    public init(_ s: EngineSettings) {
        exitGrace = s.exitGrace; maxGap = s.maxGap; minDwell = s.minDwell
        maxSpeedKmh = s.maxSpeedKmh; reanchorFixes = max(1, s.reanchorFixes)
        silentGap = s.silentGap; silentRadiusM = s.silentRadiusM
    }
}
