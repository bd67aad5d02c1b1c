/// What an unknown tracker costs (issue 28): a tracker no vehicle in the registry names is
/// counted and its visits raise `unregistered_visit` (SPEC §4.4), but its state is kept only while
/// it sends — 2,000 distinct ids took the checkpoint from 36 KB to 20 MB, rewritten every 30 s.
extension Engine {
    /// Trackers with state, and how many of them no vehicle in the registry names (those with no
    /// agency: `agencyOf` follows the registry, and every vehicle in it has one).
    public var trackers: (all: Int, unknown: Int) {
        (agencyOf.count, agencyOf.lazy.filter { $0 == nil }.count)
    }

    /// Each tracker's newest position fed to visit detection (outliers held back are not), by id.
    public func lastFixes() -> [String: Fix] {
        var out: [String: Fix] = [:]
        out.reserveCapacity(tracks.count)
        for v in tracks.indices { if let f = tracks[v].last { out[vehicleIds.string(Int32(v))] = f } }
        return out
    }

    /// Forgets the trackers no vehicle in the registry names whose newest position is older than
    /// `quietBefore` and that are in no stay (nor hold fixes back as outliers): their id, track and
    /// kept fixes. The trackers kept are numbered again from 0, in their old order. A forgotten
    /// tracker that sends again starts afresh, as a new one would. Returns how many were forgotten.
    @discardableResult
    public mutating func forgetQuietUnknownTrackers(quietBefore: Millis) -> Int {
        let inVisit = Set(openVisits.keys.map(\.vehicle))
        var keep: [Int32] = []
        keep.reserveCapacity(tracks.count)
        for v in 0..<Int32(tracks.count) {
            let t = tracks[Int(v)]
            let quiet = t.lastSeen < quietBefore && t.stay == nil && t.pending.isEmpty && !inVisit.contains(v)
            if quiet && agencyOf[Int(v)] == nil { continue }
            keep.append(v)
        }
        let forgotten = tracks.count - keep.count
        guard forgotten > 0 else { return 0 }
        var ids = ByteInterner(capacity: max(4096, keep.count))
        var number: [Int32: Int32] = [:]
        for old in keep {
            var id = vehicleIds.string(old)
            number[old] = id.withUTF8 { ids.intern($0) }
        }
        vehicleIds = ids
        tracks = keep.map { tracks[Int($0)] }
        agencyOf = keep.map { agencyOf[Int($0)] }
        if worksInLate { histories = keep.map { histories[Int($0)] } }
        openVisits = Dictionary(uniqueKeysWithValues: openVisits.map { key, record in
            (OpenKey(vehicle: number[key.vehicle]!, site: key.site, start: key.start), record)
        })
        return forgotten
    }
}

/// Whether the sites lie where the vehicles drive (issue 28: lat and lon swapped in a registry
/// was accepted silently, and nothing ever matched).
extension Engine {
    /// How many sites lie outside the box of the registered vehicles' newest positions widened
    /// by `marginM`; nil until `minVehicles` registered vehicles have a position.
    public func sitesOutsideFleetArea(marginM: Double = 50_000, minVehicles: Int = 3) -> (outside: Int, sites: Int)? {
        var box: GeoBox?
        var vehicles = 0
        for v in tracks.indices where agencyOf[v] != nil {
            guard let f = tracks[v].last else { continue }
            vehicles += 1
            if var b = box {
                b.minLat = min(b.minLat, f.lat); b.maxLat = max(b.maxLat, f.lat)
                b.minLon = min(b.minLon, f.lon); b.maxLon = max(b.maxLon, f.lon)
                box = b
            } else {
                box = GeoBox(minLat: f.lat, minLon: f.lon, maxLat: f.lat, maxLon: f.lon)
            }
        }
        guard vehicles >= minVehicles, let area = box?.expanded(byMetres: marginM) else { return nil }
        var outside = 0
        for s in registry.sites.indices {
            let b = index.box(Int32(s))
            if !area.contains(lat: (b.minLat + b.maxLat) / 2, lon: (b.minLon + b.maxLon) / 2) { outside += 1 }
        }
        return (outside, registry.sites.count)
    }

    /// What to say of `sitesOutsideFleetArea`: nil while most sites lie where the vehicles are.
    public static func sitePlacementWarning(_ placement: (outside: Int, sites: Int)?) -> String? {
        guard let p = placement, p.sites > 0, p.outside * 2 > p.sites else { return nil }
        return "\(p.outside) of \(p.sites) sites lie over 50 km from every registered vehicle's newest position: "
            + "are lat and lon swapped in sites.geojson, or registry.coordinates wrong? (GeoJSON is [lon, lat])"
    }
}
