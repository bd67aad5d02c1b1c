import Foundation
import InspectionCore

/// What `inspection-sim generate` is asked for.
public struct ScenarioOptions: Sendable {
    public var seed: UInt64 = 1
    public var vehicles = 20
    public var days = 14
    /// The first day, local (`YYYY-MM-DD`); scenarios start on a Monday by default.
    public var startDay = "2026-03-02"
    /// Enterprise sites to choose from the polygons (fewer when the area has no room).
    public var sites = 200
    /// Ordinary inspections per vehicle per working day.
    public var stopsPerDay: ClosedRange<Int> = 2...4
    public var plant: [Behaviour: Int] = Dictionary(uniqueKeysWithValues: Behaviour.allCases.map { ($0, 1) })
    /// Behaviours asked for by name: one that does not fit the scenario is an error. The others
    /// (the default, `all=N`) are planted where they fit, and what was left out is said.
    public var plantNamed: Set<Behaviour> = []
    public var noise = Noise()
    /// The rules the ground truth is computed under (the replay that checks it must use the same).
    public var settings = EngineSettings()
    /// Code scans (SPEC §3.5): most occasions scanned by one of their agencies minutes after the
    /// first arrival, `missedScans` of the rest not, a few scans with no visit; the ground truth
    /// then judges every occasion (`unscanned_visit`).
    public var scans = false
    /// Share of ordinary occasions (at enterprises nothing is planted at) left unscanned.
    public var missedScans = 0.03
    /// Scans with no visit, per hundred scans.
    public var scansWithoutVisit = 2
    public init() {}
}

/// A generated scenario: the registry files, every vehicle's fixes, and the ground truth.
public struct Scenario: Sendable {
    public var sitesGeoJSON: [UInt8] = []
    public var agenciesCSV = ""
    public var vehiclesCSV = ""
    public var tasksCSV = ""
    public var registry: Registry
    public var vehicleIds: [String] = []
    /// Each vehicle's fixes in time order (noise-free).
    public var tracks: [[SimFix]] = []
    public var visits: [VisitRecord] = []
    public var alerts: [AlertRecord] = []
    public var planted: [PlantedRecord] = []
    /// Code scans, in time order (with `ScenarioOptions.scans`; nil without).
    public var scans: [Scan]?
    /// Behaviours not planted because they did not fit (not asked for by name), with why.
    public var leftOut: [(behaviour: Behaviour, why: String)] = []
    public var firstDay: Int
    public var days: Int
    public var calendar: LocalCalendar
    public var fixCount: Int { tracks.reduce(0) { $0 + $1.count } }
}

/// One fix as the simulator keeps it: whole seconds and 1e-7 degrees, exactly what the trace file says.
public struct SimFix: Sendable, Equatable {
    public var ts: Int64
    public var lat7: Int32
    public var lon7: Int32
    /// km/h × 10.
    public var speed10: UInt16

    public var lat: Double { Double(lat7) / 1e7 }
    public var lon: Double { Double(lon7) / 1e7 }
    public var fix: Fix { Fix(ts: ts * 1000, lat: lat, lon: lon) }
}

public enum ScenarioGenerator {
    static let agencies: [(id: String, name: String, westOnly: Bool)] = [
        ("AMR", "市场监督管理局", false), ("EEB", "生态环境局", false), ("EMB", "应急管理局", false),
        ("FIRE", "消防救援支队", false), ("UMB", "综合行政执法局（西片）", true),
    ]

    public static func generate(roads roadsData: Data, roadsFile: String, sites sitesData: Data, sitesFile: String,
                                options o: ScenarioOptions) throws -> Scenario {
        guard o.vehicles >= 1 else { throw SimError("--vehicles must be at least 1") }
        guard o.days >= 1 else { throw SimError("--days must be at least 1") }
        guard let firstDay = Timestamp.parseDay(o.startDay) else {
            throw SimError("--start: \(o.startDay) is not a date YYYY-MM-DD")
        }
        var rng = SplitMix64(seed: o.seed)
        let roads = try RoadGraph(geojson: roadsData, file: roadsFile)
        let catalog = try SiteCatalog(geojson: sitesData, file: sitesFile, margin: o.settings.siteMarginM)
        let pairCount = o.plant[.adjacent] ?? 0
        let (singles, pairs) = catalog.choose(count: o.sites, pairs: pairCount, roads: roads, rng: &rng)
        guard pairs.count == pairCount else {
            throw SimError("\(sitesFile): found \(pairs.count) pairs of polygons 8–25 m apart for --plant adjacent=\(pairCount)")
        }
        guard singles.count >= 10 else {
            throw SimError("\(sitesFile): only \(singles.count) polygons near the roads and \(SiteCatalog.spacingM) m apart; need 10")
        }

        // Sites, enterprises (one in ten has a second site), regions split west/east.
        let chosen = singles + pairs.flatMap { [$0.0, $0.1] }
        let medianLon = chosen.map { catalog.polygons[$0].center.lon }.sorted()[chosen.count / 2]
        var enterpriseOf: [Int: String] = [:]
        var regionOf: [Int: String] = [:]
        var e = 0
        for (k, c) in chosen.enumerated() {
            let shareWithPrevious = k > 0 && k < singles.count && k % 10 == 1
            if !shareWithPrevious { e += 1 }
            enterpriseOf[c] = "913302" + Timestamp.pad(e, 11) + "X"
            let base = catalog.polygons[c].region ?? "city"
            regionOf[c] = base + (catalog.polygons[c].center.lon < medianLon ? "-w" : "-e")
        }
        let westRegion = (catalog.polygons[chosen[0]].region ?? "city") + "-w"
        var features: [[String: Any]] = []
        for c in chosen {
            features.append([
                "type": "Feature",
                "properties": ["site_id": catalog.polygons[c].osmId, "enterprise_id": enterpriseOf[c]!,
                               "name": "企业 \(enterpriseOf[c]!.suffix(6)) · \(catalog.polygons[c].osmId)",
                               "region": regionOf[c]!, "risk_class": ["A", "B", "C", "D"][Int(rng.next() % 4)]],
                "geometry": catalog.polygons[c].geometry,
            ])
        }
        let sitesJSON = try JSONSerialization.data(withJSONObject: ["type": "FeatureCollection", "features": features],
                                                   options: [.sortedKeys])
        var agenciesCSV = "agency_id,name,jurisdiction\n"
        for a in agencies { agenciesCSV += "\(a.id),\(a.name),\(a.westOnly ? westRegion : "*")\n" }
        var vehicleIds: [String] = []
        var vehicleAgency: [Int] = []
        var vehiclesCSV = "vehicle_id,agency_id,plate\n"
        for v in 0..<o.vehicles {
            let id = "V" + Timestamp.pad(v + 1, 4)
            vehicleIds.append(id)
            vehicleAgency.append(v % agencies.count)
            vehiclesCSV += "\(id),\(agencies[v % agencies.count].id),浙B·\(Timestamp.pad(v + 1, 5))\n"
        }
        // The registry exactly as replay will read it: the ground truth uses its geometry and rules.
        let parser = RegistryParser(calendar: o.settings.calendar, margin: o.settings.siteMarginM)
        let header = "task_id,agency_id,partner_agency_ids,enterprise_id,site_id,kind,start,end,announced_at,cross_region,status\n"
        let noTasks = try parser.parse(sites: Array(sitesJSON), agencies: Array(agenciesCSV.utf8),
                                       vehicles: Array(vehiclesCSV.utf8), tasks: Array(header.utf8))
        var plan = Planner(options: o, roads: roads, registry: noTasks, firstDay: firstDay, vehicleAgency: vehicleAgency,
                           vehicleIds: vehicleIds, rng: SplitMix64(seed: rng.next()))
        let siteNumber = { (c: Int) in noTasks.siteNumbers[catalog.polygons[c].osmId]! }
        for c in singles {
            plan.addSite(siteNumber(c), stopPoint: catalog.interiorPoints(c)[0], east: regionOf[c]!.hasSuffix("-e"))
        }
        for (a, b) in pairs {
            plan.pairs.append((siteNumber(a), catalog.stopPoint(a, awayFrom: b)!, siteNumber(b), catalog.stopPoint(b, awayFrom: a)!))
        }
        try plan.plantBehaviours()
        plan.planOrdinaryDays()

        let tasksCSV = header + plan.tasks.map(\.csvLine).joined()
        let registry = try parser.parse(sites: Array(sitesJSON), agencies: Array(agenciesCSV.utf8),
                                        vehicles: Array(vehiclesCSV.utf8), tasks: Array(tasksCSV.utf8))
        var tracks: [[SimFix]] = []
        for v in 0..<o.vehicles {
            var builder = TrackBuilder(roads: roads, index: registry.index, rng: SplitMix64(seed: o.seed &* 0x9E37 &+ UInt64(v)))
            tracks.append(builder.build(plan.schedule[v], depot: plan.depots[vehicleAgency[v]], firstDay: firstDay,
                                        days: o.days, calendar: o.settings.calendar, trees: &plan.trees))
        }
        var scenario = Scenario(registry: registry, firstDay: firstDay, days: o.days, calendar: o.settings.calendar)
        scenario.sitesGeoJSON = Array(sitesJSON)
        scenario.agenciesCSV = agenciesCSV
        scenario.vehiclesCSV = vehiclesCSV
        scenario.tasksCSV = tasksCSV
        scenario.vehicleIds = vehicleIds
        scenario.tracks = tracks
        scenario.planted = plan.planted
        scenario.leftOut = plan.leftOut
        (scenario.visits, scenario.alerts) = GroundTruth.compute(tracks: tracks, vehicleIds: vehicleIds, registry: registry,
                                                                 settings: o.settings)
        if o.scans {
            let scans = ScanPlanner.scans(for: scenario, options: o, workingDays: plan.workingDays, rng: SplitMix64(seed: o.seed ^ 0x5CA4_5CA4))
            scenario.scans = scans
            scenario.alerts += ScanRule.judgeAll(scenario.visits, book: ScanBook(scans), settings: o.settings, registry: registry)
            var none: [VisitRecord] = []
            Engine.sortForOutput(&none, &scenario.alerts)
        }
        return scenario
    }
}

/// The scenario's code scans, from its ground-truth visits (SPEC §3.5).
enum ScanPlanner {
    static func scans(for s: Scenario, options o: ScenarioOptions, workingDays: [Int], rng seeded: SplitMix64) -> [Scan] {
        var rng = seeded
        let spans = ScanRule.spans(s.visits, registry: s.registry)
        // Planted behaviours keep exactly what they must raise: all their occasions are scanned
        // but those of `unscanned`, which none are.
        var planted = Set<String>(), unscanned = Set<String>()
        for p in s.planted {
            planted.formUnion(p.enterpriseIds)
            if p.behaviour == .unscanned { unscanned.formUnion(p.enterpriseIds) }
        }
        var scans: [Scan] = []
        for o1 in spans where !unscanned.contains(o1.enterpriseId) {
            let r = Double(rng.next() % 1_000_000) / 1_000_000
            if !planted.contains(o1.enterpriseId) && r < o.missedScans { continue }
            // By the agency that came first, 2–20 minutes after it arrived.
            let at = o1.first + Millis(120 + rng.next() % 1080) * 1000
            scans.append(Scan(scanId: "", enterpriseId: o1.enterpriseId, agencyId: o1.firstVisits[0].agency, taskId: o1.taskId, at: at))
        }
        // Officers on foot or in an untracked car: scans that cover no occasion.
        let enterprises = Array(Set(s.registry.sites.map(\.enterpriseId)).subtracting(planted)).sorted(by: byteOrder)
        let agencies = s.registry.agencies.keys.sorted(by: byteOrder)
        var byEnterprise: [String: [ScanRule.Span]] = [:]
        for o1 in spans { byEnterprise[o1.enterpriseId, default: []].append(o1) }
        let wanted = scans.count * o.scansWithoutVisit / 100
        var attempts = 0, added = 0
        while added < wanted && attempts < wanted * 20 && !enterprises.isEmpty && !workingDays.isEmpty {
            attempts += 1
            let e = enterprises[Int(rng.next() % UInt64(enterprises.count))]
            let a = agencies[Int(rng.next() % UInt64(agencies.count))]
            let day = workingDays[Int(rng.next() % UInt64(workingDays.count))]
            let at = s.calendar.startOfDay(s.firstDay + day) + Millis(9 * 3600 + Int(rng.next() % (7 * 3600))) * 1000
            let scan = Scan(scanId: "", enterpriseId: e, agencyId: a, taskId: nil, at: at)
            guard !(byEnterprise[e] ?? []).contains(where: { ScanRule.covers(scan, $0, slack: o.settings.scanSlack) }) else { continue }
            scans.append(scan)
            added += 1
        }
        scans.sort { $0.at != $1.at ? $0.at < $1.at : byteOrder($0.enterpriseId, $1.enterpriseId) }
        for i in scans.indices { scans[i].scanId = "SC" + Timestamp.pad(i + 1, 6) }
        return scans
    }
}

/// A task row as `tasks.csv` has it (SPEC §2).
struct TaskRow {
    var id: String
    var agency: String
    var partners: [String] = []
    var enterprise: String
    var site: String?
    var kind: TaskKind
    var start: String
    var end: String
    var announced: String?
    var crossRegion = false

    var csvLine: String {
        "\(id),\(agency),\(partners.joined(separator: ";")),\(enterprise),\(site ?? ""),\(kind.rawValue),\(start),\(end),\(announced ?? ""),\(crossRegion ? "true" : ""),active\n"
    }
}
