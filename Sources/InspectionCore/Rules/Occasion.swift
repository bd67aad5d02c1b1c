/// An inspection occasion (检查次数), SPEC §4.2: the unit frequency rules count.
public struct Occasion: Sendable, Equatable, Codable {
    public var id: String
    public var enterpriseId: String
    /// Start of its first visit.
    public var begin: Millis
    /// The local calendar year of `begin` (kept: a time-zone lookup per occasion per visit was
    /// the rules' main cost once occasions pile up).
    public var year: Int
    /// Agencies with a visit in it, in arrival order.
    public var agencies: [String]
    public var taskId: String?
    /// Whether it counts towards the annual cap (its task's kind counts, or it has no task).
    public var counts: Bool
    /// The agencies of its joint task (lead and partners), who count as one for multi-agency.
    public var jointGroup: [String]

    public func belongs(to agency: String) -> Bool { agencies.contains(agency) }
}

/// What becomes of a visit whose occasion is decided: its task and occasion.
public struct VisitAssignment: Sendable, Equatable {
    public var taskId: String?
    public var occasionId: String
    public init(taskId: String?, occasionId: String) { self.taskId = taskId; self.occasionId = occasionId }
}
