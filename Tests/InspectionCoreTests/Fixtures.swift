import InspectionCore

/// Plain-value fixtures: a town laid out in metres east/north of a base point in Shanghai,
/// times written as local (UTC+8) clock times.
enum Town {
    static let base = LatLon(lat: 31.2000, lon: 121.4000)
    static let mPerDegLat = Geo.metresPerDegree
    static let mPerDegLon = Geo.metresPerDegree * 0.855_364_260_1  // cos(31.2°)

    /// The point `east`, `north` metres from the base.
    static func at(_ east: Double, _ north: Double) -> LatLon {
        LatLon(lat: base.lat + north / mPerDegLat, lon: base.lon + east / mPerDegLon)
    }

    /// A rectangle `w` × `h` metres with its south-west corner at (`east`, `north`).
    static func rect(_ east: Double, _ north: Double, _ w: Double, _ h: Double) -> SiteGeometry {
        let ring = [at(east, north), at(east + w, north), at(east + w, north + h), at(east, north + h)]
        return SiteGeometry(polygons: [[ring]])!
    }

    /// Local clock time on a day: `t("2025-06-17 09:30")`, seconds optional.
    static func t(_ s: String) -> Millis {
        let iso = s.replacingOccurrences(of: " ", with: "T") + (s.count == 16 ? ":00" : "") + "+08:00"
        guard let v = Timestamp.parseRFC3339(iso) else { fatalError("bad time \(s)") }
        return v
    }
}

/// A registry and positions, built up by a test and run through the engine.
struct Scenario {
    var sites: [(Site, SiteGeometry)] = []
    var agencies: [Agency] = [
        Agency(id: "AMR", name: "Market regulation", jurisdiction: .regions(["R1", "R2"])),
        Agency(id: "ENV", name: "Ecology and environment", jurisdiction: .everywhere),
        Agency(id: "FIRE", name: "Fire and rescue", jurisdiction: .regions(["R1"])),
    ]
    var vehicles: [Vehicle] = [
        Vehicle(id: "amr-1", agencyId: "AMR", plate: "沪A12345"),
        Vehicle(id: "amr-2", agencyId: "AMR", plate: nil),
        Vehicle(id: "env-1", agencyId: "ENV", plate: nil),
        Vehicle(id: "fire-1", agencyId: "FIRE", plate: nil),
    ]
    var tasks: [InspectionTask] = []
    var positions: [(String, Millis, LatLon)] = []
    var settings = EngineSettings()

    /// The default town: a 60 × 40 m factory, a 20 m workshop 20 m east of it, a 2 km park further
    /// off, and a circular site, all of different enterprises.
    static func town() -> Scenario {
        var s = Scenario()
        s.addSite("F1", enterprise: "E-FACTORY", region: "R1", Town.rect(0, 0, 60, 40))
        s.addSite("W1", enterprise: "E-WORKSHOP", region: "R1", Town.rect(80, 0, 20, 20))
        s.addSite("P1", enterprise: "E-PARK", region: "R3", Town.rect(1000, 1000, 2000, 2000))
        s.addSite("C1", enterprise: "E-CIRCLE", region: "R2", SiteGeometry(center: Town.at(-500, 0), radiusM: 25))
        return s
    }

    mutating func addSite(_ id: String, enterprise: String, region: String?, riskClass: String? = nil, _ g: SiteGeometry) {
        sites.append((Site(id: id, enterpriseId: enterprise, name: id, region: region, riskClass: riskClass), g))
    }

    /// Adds a task through the same validation as tasks.csv; `start`/`end` are local dates
    /// (`2025-06-17`) or local clock times (`2025-06-17 09:30`).
    mutating func task(_ id: String, agency: String, partners: [String] = [], enterprise: String, site: String? = nil,
                       kind: TaskKind, start: String, end: String, announced: String? = nil, crossRegion: Bool = false,
                       status: InspectionTask.Status = .active) {
        func field(_ v: String) -> String { v.count == 10 ? v : Timestamp.formatUTC(Town.t(v)) }
        let row = ["task_id": id, "agency_id": agency, "partner_agency_ids": partners.joined(separator: ";"),
                   "enterprise_id": enterprise, "site_id": site ?? "", "kind": kind.rawValue,
                   "start": field(start), "end": field(end), "announced_at": announced.map(field) ?? "",
                   "cross_region": crossRegion ? "true" : "", "status": status.rawValue]
        do {
            tasks.append(try TaskFields.task(from: row, agencies: Set(agencies.map(\.id)), calendar: settings.calendar))
        } catch { fatalError("bad task \(id): \(error)") }
    }

    mutating func fix(_ vehicle: String, _ time: Millis, _ p: LatLon) { positions.append((vehicle, time, p)) }

    /// Reports every `every` seconds at `p` from `from` for `minutes`, first and last report included.
    mutating func park(_ vehicle: String, at p: LatLon, from: String, minutes: Double, every: Double = 15) {
        let start = Town.t(from)
        let end = start + Millis(minutes * 60_000)
        var t = start
        while t <= end { fix(vehicle, t, p); t += Millis(every * 1000) }
    }

    /// Drives in a straight line at `kmh`, reporting every `every` seconds; returns the arrival time.
    @discardableResult
    mutating func drive(_ vehicle: String, from a: LatLon, to b: LatLon, start: Millis, kmh: Double = 36,
                        every: Double = 10) -> Millis {
        let d = Geo.approxDistanceM(a.lat, a.lon, b.lat, b.lon)
        let duration = d / (kmh / 3.6)
        var s = 0.0
        while s < duration {
            let f = s / duration
            fix(vehicle, start + Millis(s * 1000), LatLon(lat: a.lat + (b.lat - a.lat) * f, lon: a.lon + (b.lon - a.lon) * f))
            s += every
        }
        let arrival = start + Millis(duration * 1000)
        fix(vehicle, arrival, b)
        return arrival
    }

    /// A visit at the factory: arrive, stay `minutes`, leave.
    mutating func inspect(_ vehicle: String, site: LatLon = Town.at(30, 20), from: String, minutes: Double = 30) {
        park(vehicle, at: site, from: from, minutes: minutes)
        let leave = Town.t(from) + Millis(minutes * 60_000)
        drive(vehicle, from: Town.at(30, 200), to: Town.at(3000, 3000), start: leave + 15_000, kmh: 40)
    }

    var registry: Registry {
        Registry(sites: sites, agencies: agencies, vehicles: vehicles, tasks: tasks, margin: settings.siteMarginM)
    }

    func run() -> Outcome {
        var engine = Engine(registry: registry, settings: settings)
        let ps = positions.map { v, t, p in Position(vehicle: engine.vehicleNumber(v), ts: t, lat: p.lat, lon: p.lon) }
        let r = engine.run(ps)
        return Outcome(visits: r.visits, alerts: r.alerts, counts: engine.counts, accepted: engine.accepted)
    }
}

struct Outcome {
    var visits: [VisitRecord]
    var alerts: [AlertRecord]
    var counts: RejectCounts
    var accepted: Int

    func alerts(_ kind: AlertKind) -> [AlertRecord] { alerts.filter { $0.kind == kind } }
    func visits(at site: String) -> [VisitRecord] { visits.filter { $0.siteId == site } }
}
