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

    public init(id: String, enterpriseId: String, begin: Millis, year: Int, agencies: [String], taskId: String?,
                counts: Bool, jointGroup: [String]) {
        self.id = id; self.enterpriseId = enterpriseId; self.begin = begin; self.year = year
        self.agencies = agencies; self.taskId = taskId; self.counts = counts; self.jointGroup = jointGroup
    }

    // In a checkpoint an occasion is an array of its fields, in the order declared: a year of
    // occasions is most of the engine's state, and field names were much of it. An object with
    // named fields (what checkpoints held before) is read as well.
    private enum CodingKeys: String, CodingKey { case id, enterpriseId, begin, year, agencies, taskId, counts, jointGroup }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.unkeyedContainer()
        try c.encode(id); try c.encode(enterpriseId); try c.encode(begin); try c.encode(year)
        try c.encode(agencies); try c.encode(taskId); try c.encode(counts); try c.encode(jointGroup)
    }

    public init(from decoder: Decoder) throws {
        if var c = try? decoder.unkeyedContainer() {
            id = try c.decode(String.self); enterpriseId = try c.decode(String.self); begin = try c.decode(Millis.self)
            year = try c.decode(Int.self); agencies = try c.decode([String].self); taskId = try c.decode(String?.self)
            counts = try c.decode(Bool.self); jointGroup = try c.decode([String].self)
        } else {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            id = try c.decode(String.self, forKey: .id); enterpriseId = try c.decode(String.self, forKey: .enterpriseId)
            begin = try c.decode(Millis.self, forKey: .begin); year = try c.decode(Int.self, forKey: .year)
            agencies = try c.decode([String].self, forKey: .agencies); taskId = try c.decodeIfPresent(String.self, forKey: .taskId)
            counts = try c.decode(Bool.self, forKey: .counts); jointGroup = try c.decode([String].self, forKey: .jointGroup)
        }
    }
}

/// What becomes of a visit whose occasion is decided: its task and occasion.
public struct VisitAssignment: Sendable, Equatable {
    public var taskId: String?
    public var occasionId: String
    public init(taskId: String?, occasionId: String) { self.taskId = taskId; self.occasionId = occasionId }
}
