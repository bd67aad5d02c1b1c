import Foundation
import InspectionCore

/// One stop on a vehicle's working day.
struct Stop {
    enum Style {
        /// Parked at the point (inside a site or at its gate), reporting sparsely with the ignition off.
        case park(LatLon)
        /// Parked at the point with the tracker asleep the whole time (one fix in, one fix out).
        case asleep(LatLon)
        /// Standing at the point, fixes scattered within `radius` metres around it every 20 s.
        case jitter(LatLon, radius: Double)
        /// Waiting at the road node (a light), engine on, a fix every 10 s.
        case wait
        /// Passing the road node without stopping.
        case pass
        /// Standing at the road node with the tracker silent.
        case dark
    }

    var style: Style
    /// The road node the vehicle drives to (and leaves from).
    var node: Int32
    var dwellS: Int
}

/// Who goes where on which day, and the tasks that cover it: ordinary inspections at random, and
/// the planted behaviours on enterprises of their own.
struct Planner {
    struct SiteInfo { var site: Int32; var stop: LatLon; var node: Int32; var east: Bool }

    let o: ScenarioOptions
    let roads: RoadGraph
    let registry: Registry
    let firstDay: Int
    let vehicleAgency: [Int]
    let vehicleIds: [String]
    var rng: SplitMix64
    var free: [SiteInfo] = []
    var pairs: [(Int32, LatLon, Int32, LatLon)] = []
    var schedule: [[[Stop]]]
    var tasks: [TaskRow] = []
    var planted: [PlantedRecord] = []
    var leftOut: [(behaviour: Behaviour, why: String)] = []
    var depots: [Int32] = []
    var trees: [Int32: [Int32]] = [:]
    let workingDays: [Int]

    init(options: ScenarioOptions, roads: RoadGraph, registry: Registry, firstDay: Int, vehicleAgency: [Int],
         vehicleIds: [String], rng: SplitMix64) {
        o = options; self.roads = roads; self.registry = registry; self.firstDay = firstDay
        self.vehicleAgency = vehicleAgency; self.vehicleIds = vehicleIds; self.rng = rng
        schedule = Array(repeating: Array(repeating: [], count: options.days), count: options.vehicles)
        // 1970-01-01 was a Thursday: (day + 3) % 7 is 0 on Mondays.
        workingDays = (0..<options.days).filter { (firstDay + $0 + 3) % 7 < 5 }
        // A depot per agency: a road node with no site within 80 m (parked vehicles make no visit).
        var nodes = Array(roads.nodes.indices)
        nodes.shuffle(using: &self.rng)
        for _ in ScenarioGenerator.agencies {
            let n = nodes.first { n in
                !depots.contains(Int32(n)) && registry.index.sites(within: 80, lat: roads.nodes[n].lat, lon: roads.nodes[n].lon).isEmpty
            } ?? nodes[0]
            depots.append(Int32(n))
        }
    }

    mutating func addSite(_ site: Int32, stopPoint: LatLon, east: Bool) {
        free.append(SiteInfo(site: site, stop: stopPoint, node: roads.nearestNode(stopPoint).node, east: east))
    }

    // MARK: tasks and time

    var calendar: LocalCalendar { o.settings.calendar }

    func date(_ dayIndex: Int) -> String { Timestamp.formatDay(firstDay + dayIndex) }

    /// RFC 3339 in local time with its offset, e.g. `2026-03-02T09:00:00+08:00`.
    func localTime(_ dayIndex: Int, hour: Int, minute: Int = 0) -> String {
        let ms = calendar.startOfDay(firstDay + dayIndex) + Millis(hour * 3600 + minute * 60) * 1000
        let offset = calendar.timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(ms) / 1000))
        let local = ms / 1000 + Int64(offset)
        let (y, mo, d) = Timestamp.civilFromDays(Int(local / 86_400))
        let sod = Int(local % 86_400)
        let sign = offset >= 0 ? "+" : "-"
        let p = Timestamp.pad
        return "\(p(y, 4))-\(p(mo, 2))-\(p(d, 2))T\(p(sod / 3600, 2)):\(p(sod / 60 % 60, 2)):\(p(sod % 60, 2))\(sign)\(p(abs(offset) / 3600, 2)):\(p(abs(offset) / 60 % 60, 2))"
    }

    mutating func addTask(agency: Int, partners: [Int] = [], site: Int32, kind: TaskKind, from: Int, to: Int,
                          announcedDaysBefore: Int?) {
        let s = registry.site(site)
        tasks.append(TaskRow(id: "T" + Timestamp.pad(tasks.count + 1, 6), agency: ScenarioGenerator.agencies[agency].id,
                             partners: partners.map { ScenarioGenerator.agencies[$0].id }, enterprise: s.enterpriseId,
                             site: nil, kind: kind, start: date(from), end: date(to),
                             announced: announcedDaysBefore.map { localTime(from - $0, hour: 9 + Int(rng.next() % 8)) }))
    }

    // MARK: planted behaviours

    func vehicles(of agency: Int) -> [Int] { vehicleAgency.indices.filter { vehicleAgency[$0] == agency } }

    mutating func vehicle(of agency: Int, for b: Behaviour) throws -> Int {
        let vs = vehicles(of: agency)
        guard !vs.isEmpty else {
            throw SimError("--plant \(b.rawValue) needs a vehicle of \(ScenarioGenerator.agencies[agency].id): use --vehicles \(ScenarioGenerator.agencies.count) or more")
        }
        return vs[Int(rng.next() % UInt64(vs.count))]
    }

    /// Two distinct agencies with jurisdiction everywhere.
    mutating func twoAgencies() -> (Int, Int) {
        let a = Int(rng.next() % 4)
        return (a, (a + 1 + Int(rng.next() % 3)) % 4)
    }

    /// A free site meeting `fits`, taken out of the ordinary pool, with what `fits` found.
    mutating func takeSite<T>(_ b: Behaviour, _ fits: (Planner, SiteInfo) -> T?) throws -> (SiteInfo, T) {
        let me = self
        for i in free.indices {
            if let t = fits(me, free[i]) { return (free.remove(at: i), t) }
        }
        throw SimError("--plant \(b.rawValue): no site left that suits it (fewer instances, or more --sites)")
    }

    mutating func firstWorkingDay(_ b: Behaviour) throws -> Int {
        let n = b.workingDaysNeeded
        guard workingDays.count >= n else {
            throw SimError("--plant \(b.rawValue) needs \(n) working days; --days \(o.days) has \(workingDays.count)")
        }
        return Int(rng.next() % UInt64(workingDays.count - n + 1))
    }

    /// Sites within `r` m of a point, other than `s`.
    func others(near p: LatLon, _ r: Double, than s: Int32) -> Bool {
        registry.index.sites(within: r, lat: p.lat, lon: p.lon).contains { $0.site != s }
    }

    /// A road node within 25 m of the site and clear of every other site.
    func roadside(_ info: SiteInfo) -> Int32? {
        roads.nodes.indices.first { n in
            let p = roads.nodes[n]
            return registry.index.distanceM(site: info.site, lat: p.lat, lon: p.lon) <= 25 && !others(near: p, 45, than: info.site)
        }.map { Int32($0) }
    }

    /// The point `metres` outside the outline on the way from the site's road node to its stop point.
    func outside(_ info: SiteInfo, metres: Double, clearance: Double) -> LatLon? {
        let a = roads.nodes[Int(info.node)], b = info.stop
        let d = { (t: Double) in LatLon(lat: a.lat + (b.lat - a.lat) * t, lon: a.lon + (b.lon - a.lon) * t) }
        guard registry.index.distanceM(site: info.site, lat: a.lat, lon: a.lon) >= metres else { return nil }
        var lo = 0.0, hi = 1.0
        for _ in 0..<40 {
            let mid = (lo + hi) / 2
            let p = d(mid)
            if registry.index.distanceM(site: info.site, lat: p.lat, lon: p.lon) > metres { lo = mid } else { hi = mid }
        }
        let p = d(lo)
        return others(near: p, clearance, than: info.site) ? nil : p
    }

    /// A road node 40–150 m from the site, nearer to it than to any other, with no site within 45 m.
    func darkSpot(_ info: SiteInfo) -> Int32? {
        roads.nodes.indices.first { n in
            let p = roads.nodes[n]
            let near = registry.index.sites(within: o.settings.silentRadiusM, lat: p.lat, lon: p.lon)
            guard let first = near.first, first.site == info.site else { return false }
            return first.distanceM >= 40 && first.distanceM <= 150
        }.map { Int32($0) }
    }

    /// Sites of enterprises with a second site stay in the ordinary pool: a behaviour owns its enterprise.
    func alone(_ i: SiteInfo) -> Bool {
        let e = registry.site(i.site).enterpriseId
        return registry.sites.lazy.filter { $0.enterpriseId == e }.count == 1
    }

    mutating func plan(_ v: Int, day: Int, _ stop: Stop) { schedule[v][day].append(stop) }

    mutating func dwell() -> Int { 600 + Int(rng.next() % 1800) }

    /// Plants what was asked for. One asked for by name that does not fit is an error; one the
    /// default or `all=N` asked for is left out, with why (a 5-day scenario has no room for a
    /// repeated inspection 30 days apart's 6 working days).
    mutating func plantBehaviours() throws {
        for b in Behaviour.allCases {
            for _ in 0..<(o.plant[b] ?? 0) {
                do { try plant(b) } catch let e as SimError where !o.plantNamed.contains(b) {
                    leftOut.append((b, e.description))
                    break
                }
            }
        }
    }

    mutating func plant(_ b: Behaviour) throws {
        if b == .unscanned && !o.scans { throw SimError("--plant unscanned needs scans (--scans)") }
        let w0 = try firstWorkingDay(b)
        let day = workingDays[w0]
        var record = PlantedRecord(behaviour: b, enterpriseIds: [], siteIds: [], vehicleIds: [], visits: 1, alerts: [])
        func note(_ s: Int32, _ vs: [Int]) {
            let site = registry.site(s)
            if !record.enterpriseIds.contains(site.enterpriseId) { record.enterpriseIds.append(site.enterpriseId) }
            record.siteIds.append(site.id)
            for v in vs where !record.vehicleIds.contains(vehicleIds[v]) { record.vehicleIds.append(vehicleIds[v]) }
        }
        switch b {
        case .announced, .unannounced, .unregistered, .asleep, .unscanned:
            let (s, _) = try takeSite(b) { p, s in p.alone(s) && !s.east ? () : nil }
            let a = Int(rng.next() % 4)
            let v = try vehicle(of: a, for: b)
            if b != .unregistered { addTask(agency: a, site: s.site, kind: .planned, from: day, to: day + 2, announcedDaysBefore: b == .unannounced ? nil : 2) }
            plan(v, day: day, Stop(style: b == .asleep ? .asleep(s.stop) : .park(s.stop), node: s.node, dwellS: b == .asleep ? 5400 : dwell()))
            note(s.site, [v])
            record.alerts = b == .unannounced ? [.unannouncedVisit] : b == .unregistered ? [.unregisteredVisit]
                : b == .unscanned ? [.unscannedVisit] : []
        case .joint:
            let (s, _) = try takeSite(b) { p, s in p.alone(s) ? () : nil }
            let (a, c) = twoAgencies()
            let va = try vehicle(of: a, for: b), vc = try vehicle(of: c, for: b)
            addTask(agency: a, partners: [c], site: s.site, kind: .joint, from: day, to: day, announcedDaysBefore: 3)
            plan(va, day: day, Stop(style: .park(s.stop), node: s.node, dwellS: dwell()))
            plan(vc, day: day, Stop(style: .park(s.stop), node: s.node, dwellS: dwell()))
            note(s.site, [va, vc]); record.visits = 2
        case .repeated, .highFrequency, .exempt:
            let (s, _) = try takeSite(b) { p, s in p.alone(s) ? () : nil }
            let a = Int(rng.next() % 4)
            let v = try vehicle(of: a, for: b)
            let days = b == .repeated ? [w0, w0 + 5] : Array(w0..<(w0 + b.workingDaysNeeded))
            for w in days {
                addTask(agency: a, site: s.site, kind: b == .exempt ? .complaint : .planned, from: workingDays[w], to: workingDays[w],
                        announcedDaysBefore: b == .exempt ? nil : 2)
                plan(v, day: workingDays[w], Stop(style: .park(s.stop), node: s.node, dwellS: dwell()))
            }
            note(s.site, [v]); record.visits = days.count
            record.alerts = b == .repeated ? [.repeatedInspection]
                : b == .highFrequency ? [.repeatedInspection, .repeatedInspection, .highFrequency] : [.highFrequency]
        case .multiAgency:
            let (s, _) = try takeSite(b) { p, s in p.alone(s) ? () : nil }
            let (a, c) = twoAgencies()
            let va = try vehicle(of: a, for: b), vc = try vehicle(of: c, for: b)
            addTask(agency: a, site: s.site, kind: .planned, from: day, to: day, announcedDaysBefore: 2)
            addTask(agency: c, site: s.site, kind: .planned, from: workingDays[w0 + 2], to: workingDays[w0 + 2], announcedDaysBefore: 2)
            plan(va, day: day, Stop(style: .park(s.stop), node: s.node, dwellS: dwell()))
            plan(vc, day: workingDays[w0 + 2], Stop(style: .park(s.stop), node: s.node, dwellS: dwell()))
            note(s.site, [va, vc]); record.visits = 2; record.alerts = [.multiAgencyInspection]
        case .outOfJurisdiction:
            let (s, _) = try takeSite(b) { p, s in p.alone(s) && s.east ? () : nil }
            let a = ScenarioGenerator.agencies.firstIndex { $0.westOnly }!
            let v = try vehicle(of: a, for: b)
            addTask(agency: a, site: s.site, kind: .planned, from: day, to: day, announcedDaysBefore: 2)
            plan(v, day: day, Stop(style: .park(s.stop), node: s.node, dwellS: dwell()))
            note(s.site, [v]); record.alerts = [.outOfJurisdiction]
        case .dark:
            let (s, node) = try takeSite(b) { p, s in p.alone(s) ? p.darkSpot(s) : nil }
            let v = try vehicle(of: Int(rng.next() % 4), for: b)
            plan(v, day: day, Stop(style: .dark, node: node, dwellS: 2100 + Int(rng.next() % 1500)))
            note(s.site, [v]); record.visits = 0; record.alerts = [.trackerSilent]
        case .driveBy, .lightWait:
            let (s, node) = try takeSite(b) { p, s in p.alone(s) ? p.roadside(s) : nil }
            let v = try vehicle(of: Int(rng.next() % 4), for: b)
            plan(v, day: day, Stop(style: b == .driveBy ? .pass : .wait, node: node, dwellS: 180))
            note(s.site, [v]); record.visits = 0
        case .gate, .jitter:
            let metres = b == .gate ? 10.0 : 20.0
            let (s, p) = try takeSite(b) { p, s in p.alone(s) ? p.outside(s, metres: metres, clearance: b == .gate ? 45 : 75) : nil }
            let a = Int(rng.next() % 4)
            let v = try vehicle(of: a, for: b)
            addTask(agency: a, site: s.site, kind: .planned, from: day, to: day, announcedDaysBefore: 2)
            plan(v, day: day, Stop(style: b == .gate ? .park(p) : .jitter(p, radius: 20), node: s.node, dwellS: 1200))
            note(s.site, [v])
        case .adjacent:
            guard !pairs.isEmpty else { throw SimError("--plant adjacent: no pair of sites left") }
            let (s1, p1, s2, p2) = pairs.removeFirst()
            let (a, c) = twoAgencies()
            let va = try vehicle(of: a, for: b), vc = try vehicle(of: c, for: b)
            addTask(agency: a, site: s1, kind: .planned, from: day, to: day, announcedDaysBefore: 2)
            addTask(agency: c, site: s2, kind: .planned, from: day, to: day, announcedDaysBefore: 2)
            plan(va, day: day, Stop(style: .park(p1), node: roads.nearestNode(p1).node, dwellS: dwell()))
            plan(vc, day: day, Stop(style: .park(p2), node: roads.nearestNode(p2).node, dwellS: dwell()))
            note(s1, [va]); note(s2, [vc]); record.visits = 2
        }
        record.alerts.sort { $0.rawValue < $1.rawValue }
        planted.append(record)
    }

    // MARK: ordinary inspections

    /// Kinds of ordinary tasks and their shares; nil is a visit with no task.
    static let kinds: [(TaskKind?, Double)] = [
        (.planned, 0.50), (.special, 0.08), (.complaint, 0.08), (.referral, 0.04), (.monitoring, 0.04),
        (.requested, 0.03), (.emergency, 0.02), (.service, 0.06), (nil, 0.15),
    ]

    mutating func planOrdinaryDays() {
        let pool = free
        let west = pool.filter { !$0.east }
        guard !pool.isEmpty else { return }
        for v in 0..<o.vehicles {
            let agency = vehicleAgency[v]
            let sites = ScenarioGenerator.agencies[agency].westOnly && !west.isEmpty ? west : pool
            for day in workingDays {
                let n = o.stopsPerDay.lowerBound + Int(rng.next() % UInt64(o.stopsPerDay.count))
                for _ in 0..<n {
                    let s = sites[Int(rng.next() % UInt64(sites.count))]
                    plan(v, day: day, Stop(style: .park(s.stop), node: s.node, dwellS: dwell()))
                    var u = rng.unit()
                    let kind = Self.kinds.first { u -= $0.1; return u < 0 }?.0 ?? nil
                    guard let kind else { continue }
                    let policy = o.settings.policy(kind)
                    let wide = kind == .planned || kind == .special
                    let from = wide ? day - Int(rng.next() % 3) : day, to = wide ? day + Int(rng.next() % 5) : day
                    var announced: Int? = nil
                    if policy.announcementRequired {
                        let r = rng.unit()
                        announced = r < 0.85 ? 1 + Int(rng.next() % 5) : r < 0.92 ? 0 : nil
                    }
                    addTask(agency: agency, site: s.site, kind: kind, from: from, to: to, announcedDaysBefore: announced)
                }
            }
        }
    }
}
