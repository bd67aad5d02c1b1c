import InspectionCore
import InspectionStore

/// The registry as the office reads it — sites with their outlines (in WGS-84, as the engine
/// reads them), agencies, vehicles, each enterprise's class — parsed from the stored files on
/// first use and again after each import. The engine's spatial index keeps no outlines in
/// degrees, and the API must not wait for the engine's thread, so they are not taken from it.
actor RegistryView {
    private let store: Store
    private let parser: RegistryParser
    private var importedAt: Millis?
    private var shapes: [String: (Site, SiteGeometry)] = [:]
    /// Site ids in `site_id` byte order.
    private var order: [String] = []
    private var agencyList: [Agency] = []
    private var vehicleList: [Vehicle] = []
    /// Each enterprise's risk class: its first site's, by `site_id`, that names one (as the engine has it).
    private var classes: [String: String] = [:]
    /// Names for codes, made once per import.
    private var cachedNames = Names()

    init(store: Store, parser: RegistryParser) { self.store = store; self.parser = parser }

    private func refresh() async throws {
        let at = try await store.registryImportedAt()
        guard at != importedAt else { return }
        shapes = [:]; order = []; agencyList = []; vehicleList = []; classes = [:]
        if let files = try store.storedRegistryFiles() {
            if let bytes = files["sites.geojson"] {
                var warnings: [String] = []
                for (s, g) in try parser.parseSites(bytes, warnings: &warnings) { shapes[s.id] = (s, g) }
                order = shapes.keys.sorted(by: byteOrder)
                classes = Registry.enterpriseClasses(order.map { shapes[$0]!.0 })
            }
            if let bytes = files["agencies.csv"] { agencyList = try parser.parseAgencies(bytes).sorted { byteOrder($0.id, $1.id) } }
            if let bytes = files["vehicles.csv"] {
                vehicleList = try parser.parseVehicles(bytes, agencies: Set(agencyList.map(\.id))).sorted { byteOrder($0.id, $1.id) }
            }
        }
        var n = Names()
        for a in agencyList { n.agencies[a.id] = a.name }
        for v in vehicleList { if let p = v.plate, !p.isEmpty { n.plates[v.id] = p } }
        for (id, (s, g)) in shapes {
            if let name = s.name, !name.isEmpty { n.sites[id] = name }
            n.centers[id] = [(g.box.minLat + g.box.maxLat) / 2, (g.box.minLon + g.box.maxLon) / 2]
        }
        cachedNames = n
        importedAt = at
    }

    func names() async throws -> Names {
        try await refresh()
        return cachedNames
    }

    func site(_ id: String) async throws -> (Site, SiteGeometry)? {
        try await refresh()
        return shapes[id]
    }

    /// Sites in `site_id` order that pass `keep`.
    func sites(where keep: (Site, SiteGeometry) -> Bool) async throws -> [(Site, SiteGeometry)] {
        try await refresh()
        return order.compactMap { id in shapes[id].flatMap { keep($0.0, $0.1) ? $0 : nil } }
    }

    func agencies() async throws -> [Agency] {
        try await refresh()
        return agencyList
    }

    func vehicles() async throws -> [Vehicle] {
        try await refresh()
        return vehicleList
    }

    func enterpriseClasses() async throws -> [String: String] {
        try await refresh()
        return classes
    }
}
