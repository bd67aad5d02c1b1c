/// Every threshold and window of SPEC §3.3 and §4, with SPEC's defaults. Durations in milliseconds.
public struct EngineSettings: Sendable, Equatable {
    // §4.1 visits
    public var siteMarginM: Double = 30
    public var exitGrace: Millis = 120_000
    public var maxGap: Millis = 7_200_000
    public var minDwell: Millis = 300_000

    // §3.3 input filters
    public var maxSpeedKmh: Double = 200
    public var reanchorFixes: Int = 3
    public var maxFuture: Millis = 300_000
    /// How far behind its vehicle's newest position a late one is still worked in (§3.4).
    public var lateHorizon: Millis = 86_400_000

    // §4.2–4.4 rules
    public var taskSlack: Millis = 0
    public var announceLead: Millis = 86_400_000
    public var repeatWindow: Millis = 30 * 86_400_000
    public var multiAgencyWindow: Millis = 7 * 86_400_000
    public var multiAgencyThreshold: Int = 2
    public var annualCap: Int = 2
    /// Annual caps by risk and credit class (§4.5, `rules.class_caps`); a class not here, or
    /// none, has `annualCap`.
    public var classCaps: [String: Int] = [:]
    public var reasonableCap: Int = 6
    public var silentGap: Millis = 1_800_000
    public var silentRadiusM: Double = 500
    // §3.5 code scans
    /// A scan covers an occasion this far before its first visit and after its last.
    public var scanSlack: Millis = 7_200_000
    /// An occasion is judged this long after its last visit ended.
    public var scanWait: Millis = 86_400_000

    public var kinds: [TaskKind: KindPolicy] = Dictionary(
        uniqueKeysWithValues: TaskKind.allCases.map { ($0, KindPolicy.defaultPolicy($0)) })
    public var severities: [AlertKind: Severity] = Dictionary(
        uniqueKeysWithValues: AlertKind.allCases.map { ($0, $0.defaultSeverity) })

    public var calendar: LocalCalendar = .shanghai

    public init() {}

    /// The annual cap of counting occasions per agency at an enterprise of this class (§4.5).
    public func annualCap(forClass riskClass: String?) -> Int { riskClass.flatMap { classCaps[$0] } ?? annualCap }

    public func policy(_ kind: TaskKind) -> KindPolicy { kinds[kind] ?? KindPolicy.defaultPolicy(kind) }
    public func severity(_ kind: AlertKind) -> Severity { severities[kind] ?? kind.defaultSeverity }

    public static func == (a: EngineSettings, b: EngineSettings) -> Bool {
        a.siteMarginM == b.siteMarginM && a.exitGrace == b.exitGrace && a.maxGap == b.maxGap
            && a.minDwell == b.minDwell && a.maxSpeedKmh == b.maxSpeedKmh && a.reanchorFixes == b.reanchorFixes
            && a.maxFuture == b.maxFuture && a.lateHorizon == b.lateHorizon && a.taskSlack == b.taskSlack && a.announceLead == b.announceLead
            && a.repeatWindow == b.repeatWindow && a.multiAgencyWindow == b.multiAgencyWindow
            && a.multiAgencyThreshold == b.multiAgencyThreshold && a.annualCap == b.annualCap && a.classCaps == b.classCaps
            && a.reasonableCap == b.reasonableCap && a.silentGap == b.silentGap
            && a.silentRadiusM == b.silentRadiusM && a.scanSlack == b.scanSlack && a.scanWait == b.scanWait && a.kinds == b.kinds && a.severities == b.severities
            && a.calendar.identifier == b.calendar.identifier
    }
}

/// Coordinate system of registry input (SPEC §2): converted to WGS-84 on load.
public enum CoordinateSystem: String, Sendable, CaseIterable {
    case wgs84, gcj02, bd09
}
