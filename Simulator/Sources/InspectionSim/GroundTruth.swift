import InspectionCore

/// The visits and alerts SPEC §4 requires of the generated traces, worked out from the fixes as a
/// batch, not by the engine's streaming machine: for each site, the fixes at it (the simulator never
/// sends a fix at two sites at once) group into stays wherever the fixes between two of them span at
/// most `exit_grace` and no two consecutive fixes are more than `max_gap` apart; a stay that lasts
/// `min_dwell` is a visit, opened at its first fix `min_dwell` after its start. Silent gaps are the
/// consecutive fixes more than `silent_gap` apart that no stay spans. Task matching, occasions and
/// alerts are the rules' own (`RuleEngine.open`, `trackerSilent`), fed in event time.
public enum GroundTruth {
    struct Stay { var site: Int32; var first: Int; var last: Int }

    enum Event {
        case open(vehicle: Int, site: Int32, start: Millis, at: Millis, end: Millis, points: Int)
        case silent(vehicle: Int, SilentGap)
        var at: Millis {
            switch self {
            case .open(_, _, _, let at, _, _): return at
            case .silent(_, let g): return g.to.ts
            }
        }
        var vehicle: Int {
            switch self {
            case .open(let v, _, _, _, _, _): return v
            case .silent(let v, _): return v
            }
        }
    }

    static func stays(_ fixes: [SimFix], index: SiteIndex, settings: EngineSettings) -> [Stay] {
        let grace = settings.exitGrace / 1000, maxGap = settings.maxGap / 1000
        // bigGaps[i]: consecutive gaps over max_gap among fixes 0...i.
        var bigGaps = [Int](repeating: 0, count: fixes.count)
        for i in fixes.indices.dropFirst() { bigGaps[i] = bigGaps[i - 1] + (fixes[i].ts - fixes[i - 1].ts > maxGap ? 1 : 0) }
        var atSite: [Int32: [Int]] = [:]
        var order: [Int32] = []
        for (i, f) in fixes.enumerated() {
            guard let s = index.bestSite(lat: f.lat, lon: f.lon) else { continue }
            if atSite[s] == nil { order.append(s) }
            atSite[s, default: []].append(i)
        }
        var out: [Stay] = []
        for s in order {
            let idx = atSite[s]!
            var first = idx[0], last = idx[0]
            for k in idx.dropFirst() {
                let excursionSpan = k - last > 1 ? fixes[k - 1].ts - fixes[last + 1].ts : 0
                if excursionSpan > grace || bigGaps[k] != bigGaps[last] {
                    out.append(Stay(site: s, first: first, last: last))
                    first = k
                }
                last = k
            }
            out.append(Stay(site: s, first: first, last: last))
        }
        return out
    }

    public static func compute(tracks: [[SimFix]], vehicleIds: [String], registry: Registry,
                               settings: EngineSettings) -> (visits: [VisitRecord], alerts: [AlertRecord]) {
        let index = registry.index
        let minDwell = settings.minDwell / 1000
        var events: [Event] = []
        for (v, fixes) in tracks.enumerated() {
            let stays = stays(fixes, index: index, settings: settings)
            // covered[i]: the gap after fix i lies inside some stay.
            var covered = [Bool](repeating: false, count: fixes.count)
            for st in stays {
                for i in st.first..<st.last { covered[i] = true }
                guard fixes[st.last].ts - fixes[st.first].ts >= minDwell else { continue }
                let opening = (st.first...st.last).first { i in
                    fixes[i].ts - fixes[st.first].ts >= minDwell && index.isAt(site: st.site, lat: fixes[i].lat, lon: fixes[i].lon)
                }!
                events.append(.open(vehicle: v, site: st.site, start: fixes[st.first].ts * 1000, at: fixes[opening].ts * 1000,
                                    end: fixes[st.last].ts * 1000, points: st.last - st.first + 1))
            }
            for i in fixes.indices.dropLast() where !covered[i] && (fixes[i + 1].ts - fixes[i].ts) * 1000 > settings.silentGap {
                let from = fixes[i].fix, to = fixes[i + 1].fix
                let near = index.silentSites(from: from, to: to, radius: settings.silentRadiusM)
                guard let site = near.first else { continue }
                events.append(.silent(vehicle: v, SilentGap(vehicle: Int32(v), site: site, from: from, to: to, sites: near)))
            }
        }
        // The engine sees positions in time order, ties in file order (vehicle by vehicle).
        events.sort { $0.at != $1.at ? $0.at < $1.at : $0.vehicle < $1.vehicle }
        var rules = RuleEngine(settings: settings)
        var visits: [VisitRecord] = []
        var alerts: [AlertRecord] = []
        for e in events {
            switch e {
            case .open(let v, let site, let start, let at, let end, let points):
                let agency = registry.vehicles[vehicleIds[v]]?.agencyId
                var (record, raised) = rules.open(vehicleId: vehicleIds[v], agencyId: agency, site: registry.site(site),
                                                  start: start, at: at, points: points, registry: registry)
                record.end = end
                visits.append(record)
                alerts += raised
            case .silent(let v, let g):
                if let a = rules.trackerSilent(g, vehicleId: vehicleIds[v], agencyId: registry.vehicles[vehicleIds[v]]?.agencyId,
                                               registry: registry) { alerts.append(a) }
            }
        }
        Engine.sortForOutput(&visits, &alerts)
        return (visits, alerts)
    }
}
