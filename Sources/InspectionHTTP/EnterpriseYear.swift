import InspectionCore

/// One enterprise's year as the office asks about it (issue 26 item 3): how often has each agency
/// been here, under which tasks, against its cap? Worked out from the visits the store holds, by
/// the rules' own terms (SPEC §4.2–4.5): an inspection occasion counts towards the annual cap
/// when its task's kind counts, or when it has none; a joint task counts for every agency in it.
struct EnterpriseYear: Equatable {
    struct Agency: Equatable {
        var agencyId: String
        var visits = 0
        /// Occasions of every kind (the reasonable cap's count).
        var occasions = 0
        /// Occasions that count towards the annual cap.
        var counting = 0
        /// Occasions under a task, and without one.
        var withTask = 0
        var withoutTask = 0
    }

    /// The cap that applies: the enterprise's class cap (SPEC §4.5), else `annual_cap`.
    var cap: Int
    var reasonableCap: Int
    var agencies: [Agency]

    init(visits: [VisitRecord], tasks: [String: InspectionTask], riskClass: String?, settings: EngineSettings) {
        cap = settings.annualCap(forClass: riskClass)
        reasonableCap = settings.reasonableCap
        var byAgency: [String: Agency] = [:]
        var occasions: [String: (agencies: Set<String>, task: InspectionTask?)] = [:]
        for v in visits {
            guard let a = v.agencyId else { continue }
            byAgency[a, default: Agency(agencyId: a)].visits += 1
            let task = v.taskId.flatMap { tasks[$0] }
            occasions[v.occasionId, default: ([], task)].agencies.insert(a)
            if let task { occasions[v.occasionId]!.task = task }
        }
        for (_, o) in occasions {
            // A joint task's occasion belongs to every agency of the task.
            let agencies = o.agencies.union(o.task.map { Set($0.agencies) } ?? [])
            let counts = o.task.map { settings.policy($0.kind).countsTowardsCap } ?? true
            for a in agencies {
                var s = byAgency[a, default: Agency(agencyId: a)]
                s.occasions += 1
                if counts { s.counting += 1 }
                if o.task != nil { s.withTask += 1 } else { s.withoutTask += 1 }
                byAgency[a] = s
            }
        }
        agencies = byAgency.values.sorted { byteOrder($0.agencyId, $1.agencyId) }
    }
}
