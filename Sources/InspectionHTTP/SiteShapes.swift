import InspectionCore
import InspectionStore

/// Site outlines for the page's map, read from the stored sites.geojson (converted to WGS-84 as
/// the engine reads it) on first use and again after each import. The engine's spatial index keeps
/// no outlines in degrees, so they are not taken from it.
actor SiteShapes {
    private let store: Store
    private let parser: RegistryParser
    private var importedAt: Millis?
    private var shapes: [String: (Site, SiteGeometry)] = [:]
    /// Each enterprise's risk class: its first site's, by `site_id`, that names one (as the engine has it).
    private var classes: [String: String] = [:]

    init(store: Store, parser: RegistryParser) { self.store = store; self.parser = parser }

    private func refresh() async throws {
        let at = try await store.registryImportedAt()
        guard at != importedAt else { return }
        shapes = [:]
        classes = [:]
        if let files = try store.storedRegistryFiles(), let bytes = files["sites.geojson"] {
            var warnings: [String] = []
            for (s, g) in try parser.parseSites(bytes, warnings: &warnings) { shapes[s.id] = (s, g) }
            classes = Registry.enterpriseClasses(shapes.keys.sorted(by: byteOrder).map { shapes[$0]!.0 })
        }
        importedAt = at
    }

    func site(_ id: String) async throws -> (Site, SiteGeometry)? {
        try await refresh()
        return shapes[id]
    }

    func enterpriseClasses() async throws -> [String: String] {
        try await refresh()
        return classes
    }
}
