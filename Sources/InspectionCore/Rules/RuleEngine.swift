/// Task matching, occasions and the seven alert kinds of SPEC §4.2–4.4.
///
/// Fed visit openings and silent gaps in event order; it keeps the occasions it needs to count
/// with and returns plain records. No clock, no I/O.
public struct RuleEngine: Sendable {
    public let settings: EngineSettings
    public private(set) var occasions: [Occasion] = []
    /// Occasions by the number of their id (the hash of the key that makes them one occasion), and
    /// by enterprise in the order they began to be counted: both follow from `occasions`.
    private var occasionByKey: [UInt64: Int] = [:]
    private var occasionsAt: [String: [Int]] = [:]
    /// The latest visit start seen: occasions far enough behind it can no longer count (`prune`).
    private var latestStart: Millis = .min
    private var opensSincePrune = 0
    /// Visits opened between two prunings (the pruning is a pass over every occasion).
    public var pruneInterval = 4096

    public init(settings: EngineSettings) { self.settings = settings }

    /// The occasions it counts with, to keep across a restart (the lookups are rebuilt from them;
    /// a checkpoint that still carries them, from before, decodes the same).
    struct State: Codable, Sendable {
        var occasions: [Occasion]
        var latestStart: Millis?
    }

    var state: State { State(occasions: occasions, latestStart: latestStart) }

    init(settings: EngineSettings, state: State) {
        self.settings = settings
        occasions = state.occasions
        latestStart = state.latestStart ?? .min
        rebuildLookups()
    }

    private mutating func rebuildLookups() {
        occasionByKey = Dictionary(minimumCapacity: occasions.count)
        occasionsAt = [:]
        for i in occasions.indices {
            if let n = StableID.number(occasions[i].id) { occasionByKey[n] = i }
            occasionsAt[occasions[i].enterpriseId, default: []].append(i)
        }
    }

    /// Late input is accepted this far behind the latest visit start when deciding what can go.
    static let pruneMargin: Millis = 2 * 86_400_000

    /// Forgets the occasions no rule can count any more: begun more than the longest window
    /// (`repeat_window`, `multi_agency_window`) plus a margin before the latest visit start, and in
    /// an earlier calendar year than the margin reaches (the annual caps count the whole year).
    /// Memory then stays bounded by about a year of occasions however long the daemon runs.
    mutating func prune() {
        guard let forgettable = forgettable else { return }
        removeOccasions { forgettable($0.begin, $0.year) }
    }

    /// Whether what began at a time, in a year, can no longer count (`prune`'s rule); nil before
    /// any visit.
    var forgettable: ((Millis, Int) -> Bool)? {
        guard latestStart != .min else { return nil }
        let horizon = latestStart - max(settings.repeatWindow, settings.multiAgencyWindow) - Self.pruneMargin
        let year = settings.calendar.year(of: latestStart - Self.pruneMargin)
        return { begin, y in begin < horizon && y < year }
    }

    /// Removes occasions (the numbers of the rest are compacted).
    private mutating func removeOccasions(where doomed: (Occasion) -> Bool) {
        let before = occasions.count
        occasions.removeAll(where: doomed)
        if occasions.count < before { rebuildLookups() }
    }

    /// The visit's fixed facts, as the rules see them.
    public struct VisitFacts: Sendable {
        public var visitId: String
        public var vehicleId: String
        public var agencyId: String?
        public var site: Site
        public var start: Millis
        public var at: Millis

        public init(visitId: String, vehicleId: String, agencyId: String?, site: Site, start: Millis, at: Millis) {
            self.visitId = visitId; self.vehicleId = vehicleId; self.agencyId = agencyId; self.site = site
            self.start = start; self.at = at
        }
    }

    /// The rules applied again to every visit at one enterprise, after its tasks changed (a task
    /// registered late, amended or cancelled): its occasions are forgotten and the visits, in the
    /// order given (event order), open again. Returns each visit's new task and occasion and the
    /// alerts the visits raise now; the caller compares them with what was said before.
    public mutating func rematch(enterprise: String, visits: [VisitFacts], registry: Registry)
        -> [(visitId: String, assignment: VisitAssignment, alerts: [AlertRecord])] {
        forget(enterprise: enterprise)
        return visits.map { v in
            let (assignment, alerts) = visitOpened(v, registry: registry)
            return (v.visitId, assignment, alerts)
        }
    }

    /// Drops the occasions at one enterprise.
    private mutating func forget(enterprise: String) {
        guard occasionsAt[enterprise] != nil else { return }
        removeOccasions { $0.enterpriseId == enterprise }
    }

    /// Tasks covering a visit (SPEC §4.2), the winner first: earliest start, then lower task_id.
    public func coveringTasks(_ v: VisitFacts, registry: Registry) -> [InspectionTask] {
        guard let agency = v.agencyId else { return [] }
        let slack = settings.taskSlack
        let list = registry.tasks(ofEnterprise: v.site.enterpriseId)
        var out: [InspectionTask] = []
        // Fields read in place: an enterprise with hundreds of tasks costs no copies of them.
        for i in list.indices where v.start <= list[i].end + slack && v.at >= list[i].start - slack
            && list[i].status == .active && (list[i].siteId == nil || list[i].siteId == v.site.id)
            && list[i].involves(agency: agency) {
            out.append(list[i])
        }
        return out
    }

    /// A stay reached `min_dwell` (SPEC §4.1): the visit record with its stable id, task and
    /// occasion, and the alerts it raises. The engine and the simulator's ground truth both call this.
    public mutating func open(vehicleId: String, agencyId: String?, site: Site, start: Millis, at: Millis, points: Int,
                              registry: Registry) -> (VisitRecord, [AlertRecord]) {
        let visitId = Self.visitId(vehicleId: vehicleId, siteId: site.id, start: start)
        let facts = VisitFacts(visitId: visitId, vehicleId: vehicleId, agencyId: agencyId, site: site, start: start, at: at)
        let (assignment, alerts) = visitOpened(facts, registry: registry)
        let record = VisitRecord(visitId: visitId, vehicleId: vehicleId, agencyId: agencyId, siteId: site.id,
                                 enterpriseId: site.enterpriseId, start: start, end: nil, points: points,
                                 taskId: assignment.taskId, occasionId: assignment.occasionId, openedAt: at)
        return (record, alerts)
    }

    /// A visit's stable id: its vehicle, site and start.
    public static func visitId(vehicleId: String, siteId: String, start: Millis) -> String {
        StableID.make("v-", [vehicleId, siteId, String(start)])
    }

    /// A visit opened: decide its task and occasion, and raise what it calls for.
    public mutating func visitOpened(_ v: VisitFacts, registry: Registry) -> (VisitAssignment, [AlertRecord]) {
        let cal = settings.calendar
        if v.start > latestStart { latestStart = v.start }
        opensSincePrune += 1
        if opensSincePrune >= pruneInterval { opensSincePrune = 0; prune() }
        let enterprise = v.site.enterpriseId
        guard let agency = v.agencyId else {
            // An unknown tracker: the visit stands, but only `unregistered_visit` can be said of it.
            let key = "x\u{1f}\(v.vehicleId)\u{1f}\(enterprise)\u{1f}\(cal.day(of: v.start))"
            let occ = StableID.make("o-", [key])
            let alert = makeAlert(.unregisteredVisit, v, taskId: nil, id: [v.visitId], detail: [
                ("reason", .string("tracker not in vehicles.csv: no agency, no task can cover it")),
                ("visit_start", .time(v.start)),
            ])
            return (VisitAssignment(taskId: nil, occasionId: occ), [alert])
        }
        let covering = coveringTasks(v, registry: registry)
        let task = covering.first
        let key: UInt64
        if let task {
            key = StableID.hash(["t\u{1f}\(task.id)"])
        } else {
            key = StableID.hash(["d\u{1f}\(agency)\u{1f}\(enterprise)\u{1f}\(cal.day(of: v.start))"])
        }
        let counts = task.map { settings.policy($0.kind).countsTowardsCap } ?? true
        var isNewForAgency = false
        let oi: Int
        if let existing = occasionByKey[key] {
            oi = existing
            if !occasions[oi].agencies.contains(agency) { occasions[oi].agencies.append(agency); isNewForAgency = true }
            if v.start < occasions[oi].begin {
                occasions[oi].begin = v.start
                occasions[oi].year = cal.year(of: v.start)
            }
        } else {
            oi = occasions.count
            let joint = task.map { $0.partnerAgencyIds.isEmpty ? [] : $0.agencies } ?? []
            occasions.append(Occasion(id: StableID.make("o-", key), enterpriseId: enterprise, begin: v.start,
                                      year: cal.year(of: v.start), agencies: [agency], taskId: task?.id, counts: counts,
                                      jointGroup: joint))
            occasionByKey[key] = oi
            occasionsAt[enterprise, default: []].append(oi)
            isNewForAgency = true
        }
        let occ = occasions[oi]
        var alerts: [AlertRecord] = []

        if let task {
            let policy = settings.policy(task.kind)
            if policy.announcementRequired {
                let deadline = v.start - settings.announceLead
                if task.announcedAt == nil || task.announcedAt! > deadline {
                    alerts.append(makeAlert(.unannouncedVisit, v, taskId: task.id, id: [v.visitId], detail: [
                        ("task_kind", .string(task.kind.rawValue)),
                        ("announced_at", task.announcedAt.map(JSONValue.time) ?? .null),
                        ("announce_by", .time(deadline)),
                        ("visit_start", .time(v.start)),
                    ]))
                }
            }
        } else {
            // The evidence: the agency's tasks at the enterprise that came nearest in time (at most
            // `detailItems`), and how many it has there at all.
            // Fields read in place, distances sorted with numbers: an enterprise with hundreds of
            // tasks costs no copies of them.
            let list = registry.tasks(ofEnterprise: enterprise)
            var own: [(distance: Millis, i: Int)] = []
            for i in list.indices where list[i].involves(agency: agency) {
                let s = list[i].start, e = list[i].end
                own.append((v.start < s ? s - v.start : v.start > e ? v.start - e : 0, i))
            }
            own.sort { $0.distance != $1.distance ? $0.distance < $1.distance : byteOrder(list[$0.i].id, list[$1.i].id) }
            let nearest = own.prefix(Self.detailItems).map { list[$0.i] }
            alerts.append(makeAlert(.unregisteredVisit, v, taskId: nil, id: [v.visitId], detail: [
                ("visit_start", .time(v.start)),
                ("agency_tasks_at_enterprise", .int(Int64(own.count))),
                ("nearest_tasks", .array(nearest.map { t in
                    .object([("task_id", .string(t.id)), ("status", .string(t.status.rawValue)),
                             ("start", .time(t.start)), ("end", .time(t.end))])
                })),
            ]))
        }

        if let region = v.site.region, let a = registry.agencies[agency], !a.jurisdiction.covers(region),
           !covering.contains(where: \.crossRegion) {
            let j: JSONValue
            switch a.jurisdiction {
            case .everywhere: j = .string("*")
            case .regions(let r): j = .array(r.sorted(by: byteOrder).map(JSONValue.string))
            }
            alerts.append(makeAlert(.outOfJurisdiction, v, taskId: task?.id, id: [v.visitId], detail: [
                ("region", .string(region)), ("jurisdiction", j),
            ]))
        }

        if isNewForAgency {
            alerts += frequencyAlerts(v, agency: agency, occasion: oi, taskId: task?.id,
                                      riskClass: registry.riskClass(ofEnterprise: enterprise))
        }
        return (VisitAssignment(taskId: task?.id, occasionId: occ.id), alerts)
    }

    /// Lists in an alert's detail name at most this many items (the latest); counts stay exact.
    static let detailItems = 20

    /// The occasions with these numbers, the latest `detailItems`.
    private func occasionList(_ list: [Int]) -> JSONValue { .array(list.suffix(Self.detailItems).map { occasionDetail(occasions[$0]) }) }

    private func occasionDetail(_ o: Occasion) -> JSONValue {
        .object([("occasion_id", .string(o.id)), ("begin", .time(o.begin)), ("task_id", .optional(o.taskId)),
                 ("agencies", .array(o.agencies.map(JSONValue.string)))])
    }

    /// Repeated, multi-agency and high-frequency: raised once, by the visit that makes the occasion
    /// the agency's.
    /// `riskClass`: the enterprise's (§4.5), which may set its own annual cap.
    private func frequencyAlerts(_ v: VisitFacts, agency: String, occasion oi: Int, taskId: String?, riskClass: String?) -> [AlertRecord] {
        let s = settings
        let occ = occasions[oi]
        // One pass over the enterprise's occasions, fields read in place, numbers collected: only
        // the few an alert lists are copied out.
        var earlier: [Int] = [], window: [Int] = [], mine: [Int] = []
        var counting = 0
        let repeatFrom = occ.begin - s.repeatWindow, multiFrom = occ.begin - s.multiAgencyWindow
        for i in occasionsAt[occ.enterpriseId] ?? [] where occasions[i].begin <= occ.begin {
            let counts = occasions[i].counts
            let belongs = occasions[i].belongs(to: agency)
            if counts && occasions[i].begin >= multiFrom { window.append(i) }
            if counts && occasions[i].begin >= repeatFrom && i != oi && belongs { earlier.append(i) }
            if occasions[i].year == occ.year && belongs {
                mine.append(i)
                if counts { counting += 1 }
            }
        }
        var alerts: [AlertRecord] = []
        let alertKey = [occ.id, agency]

        if occ.counts {
            if !earlier.isEmpty {
                alerts.append(makeAlert(.repeatedInspection, v, taskId: taskId, id: alertKey, detail: [
                    ("occasion_id", .string(occ.id)),
                    ("window_days", .double(Double(s.repeatWindow) / 86_400_000)),
                    ("previous_count", .int(Int64(earlier.count))),
                    ("previous_occasions", occasionList(earlier)),
                ]))
            }

            let groups = AgencyGroups(window.lazy.map { occasions[$0] })
            if groups.count >= s.multiAgencyThreshold {
                alerts.append(makeAlert(.multiAgencyInspection, v, taskId: taskId, id: alertKey, detail: [
                    ("occasion_id", .string(occ.id)),
                    ("window_days", .double(Double(s.multiAgencyWindow) / 86_400_000)),
                    ("agencies", .array(groups.agencies.map(JSONValue.string))),
                    ("distinct", .int(Int64(groups.count))),
                    ("occasion_count", .int(Int64(window.count))),
                    ("occasions", occasionList(window)),
                ]))
            }
        }

        let year = occ.year
        let cap = s.annualCap(forClass: riskClass)
        let overCap = occ.counts && counting > cap
        let overReasonable = mine.count > s.reasonableCap
        if overCap || overReasonable {
            alerts.append(makeAlert(.highFrequency, v, taskId: taskId, id: alertKey, detail: [
                ("occasion_id", .string(occ.id)),
                ("year", .int(Int64(year))),
                ("counting_occasions", .int(Int64(counting))),
                ("annual_cap", .int(Int64(cap))),
                ("risk_class", .optional(riskClass)),
                ("cap_from", .string(riskClass.flatMap { s.classCaps[$0] } != nil ? "class_caps" : "annual_cap")),
                ("all_occasions", .int(Int64(mine.count))),
                ("reasonable_cap", .int(Int64(s.reasonableCap))),
                ("over", .string(overCap ? "annual_cap" : "reasonable_cap")),
                ("occasions", occasionList(mine)),
            ]))
        }
        return alerts
    }

    /// A silent tracker near a site (SPEC §4.4); nil for a tracker no agency owns (§4.4: an
    /// unknown vehicle's positions raise only `unregistered_visit` — its silence is not the
    /// office's concern).
    public func trackerSilent(_ g: SilentGap, vehicleId: String, agencyId: String?, registry: Registry) -> AlertRecord? {
        guard agencyId != nil else { return nil }
        let site = registry.site(g.site)
        let facts = VisitFacts(visitId: "", vehicleId: vehicleId, agencyId: agencyId, site: site, start: g.to.ts, at: g.to.ts)
        var a = makeAlert(.trackerSilent, facts, taskId: nil, id: [vehicleId, String(g.from.ts), String(g.to.ts)], detail: [
            ("silent_from", .time(g.from.ts)),
            ("silent_to", .time(g.to.ts)),
            ("gap_s", .double(Double(g.to.ts - g.from.ts) / 1000)),
            ("distance_from_m", .double((registry.index.distanceM(site: g.site, lat: g.from.lat, lon: g.from.lon) * 10).rounded() / 10)),
            ("distance_to_m", .double((registry.index.distanceM(site: g.site, lat: g.to.lat, lon: g.to.lon) * 10).rounded() / 10)),
            ("sites", .array(g.sites.map { .string(registry.site($0).id) })),
        ])
        a.visitId = nil
        return a
    }

    private func makeAlert(_ kind: AlertKind, _ v: VisitFacts, taskId: String?, id: [String],
                           detail: [(String, JSONValue)]) -> AlertRecord {
        AlertRecord(alertId: StableID.make("a-", [kind.rawValue] + id), kind: kind, severity: settings.severity(kind),
                    at: v.at, enterpriseId: v.site.enterpriseId, siteId: v.site.id, agencyId: v.agencyId,
                    vehicleId: v.vehicleId, visitId: v.visitId.isEmpty ? nil : v.visitId, taskId: taskId,
                    detail: .object(detail))
    }
}

/// Distinct agencies among occasions, agencies sharing one joint task counting as one.
struct AgencyGroups {
    let agencies: [String]
    let count: Int

    init<S: Sequence<Occasion>>(_ occasions: S) {
        var parent: [String: String] = [:]
        func find(_ a: String) -> String {
            var r = a
            while let p = parent[r], p != r { r = p }
            return r
        }
        func union(_ a: String, _ b: String) {
            let ra = find(a), rb = find(b)
            if ra != rb { if byteOrder(ra, rb) { parent[rb] = ra } else { parent[ra] = rb } }
        }
        var present = Set<String>()
        for o in occasions {
            for a in o.agencies { present.insert(a); if parent[a] == nil { parent[a] = a } }
            for a in o.jointGroup where parent[a] == nil { parent[a] = a }
            if let first = o.jointGroup.first { for a in o.jointGroup.dropFirst() { union(first, a) } }
        }
        agencies = present.sorted(by: byteOrder)
        count = Set(present.map(find)).count
    }
}
