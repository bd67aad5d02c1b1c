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

    init(store: Store, parser: RegistryParser) { self.store = store; self.parser = parser }

    func site(_ id: String) async throws -> (Site, SiteGeometry)? {
        let at = try await store.registryImportedAt()
        if at != importedAt {
            shapes = [:]
            if let files = try store.storedRegistryFiles(), let bytes = files["sites.geojson"] {
                var warnings: [String] = []
                for (s, g) in try parser.parseSites(bytes, warnings: &warnings) { shapes[s.id] = (s, g) }
            }
            importedAt = at
        }
        return shapes[id]
    }
}
