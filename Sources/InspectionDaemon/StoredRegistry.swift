import Foundation
import InspectionConfig
import InspectionCore
import InspectionFiles
import InspectionStore

/// The registry lives in the store: `import` (and `serve` at start and on SIGHUP, when
/// `registry.dir` is set) validates a registry folder whole and takes it in; the daemon matches
/// visits against the tasks in the store, where the API will add its own.
public enum StoredRegistry {
    static let tasksHeader = "task_id,agency_id,partner_agency_ids,enterprise_id,site_id,kind,start,end,announced_at,cross_region,status\n"

    public static func parser(_ c: Configuration) -> RegistryParser {
        RegistryParser(coordinates: c.coordinates, calendar: c.engine.calendar, margin: c.engine.siteMarginM, bounds: c.registryBounds)
    }

    /// Reads and validates `dir` (nothing is taken unless all of it is valid), then imports it.
    @discardableResult
    public static func importFolder(_ dir: String, into store: Store, configuration c: Configuration,
                                    actor: String) throws(Daemon.Failure) -> Registry {
        let bytes: [String: [UInt8]]
        let registry: Registry
        do {
            bytes = try RegistryDirectory.read(dir)
            registry = try RegistryDirectory.parse(bytes, parser: parser(c))
        } catch { throw .registry(error) }
        do {
            try store.importRegistry(files: bytes, tasks: Array(registry.tasks.values), actor: actor,
                                     at: Millis(Date().timeIntervalSince1970 * 1000))
        } catch { throw .store("\(store.path): \(error)") }
        return registry
    }

    /// The registry as stored (its files and every task), or nil before the first import.
    public static func load(from store: Store, configuration c: Configuration) throws(Daemon.Failure) -> Registry? {
        let files: [String: [UInt8]]
        let tasks: [InspectionTask]
        do {
            guard let f = try store.storedRegistryFiles() else { return nil }
            files = f
            tasks = try store.tasks()
        } catch { throw .store("\(store.path): \(error)") }
        var registry: Registry
        var contents = files
        contents["tasks.csv"] = Array(tasksHeader.utf8)  // the tasks come from the store's table
        do { registry = try RegistryDirectory.parse(contents, parser: parser(c)) } catch { throw .registry(error) }
        for t in tasks { registry.upsert(t) }
        return registry
    }
}
