import Foundation
import InspectionConfig
import InspectionCore
import InspectionReplay
import InspectionStore

/// The registry lives in the store: `import` (and `serve` at start and on SIGHUP, when
/// `registry.dir` is set) validates a registry folder whole and takes it in; the daemon matches
/// visits against the tasks in the store, where the API will add its own.
public enum StoredRegistry {
    static let tasksHeader = "task_id,agency_id,partner_agency_ids,enterprise_id,site_id,kind,start,end,announced_at,cross_region,status\n"

    static func parser(_ c: Configuration) -> RegistryParser {
        RegistryParser(coordinates: c.coordinates, calendar: c.engine.calendar, margin: c.engine.siteMarginM)
    }

    /// Reads and validates `dir` (nothing is taken unless all of it is valid), then imports it.
    @discardableResult
    public static func importFolder(_ dir: String, into store: Store, configuration c: Configuration,
                                    actor: String) throws(Daemon.Failure) -> Registry {
        var bytes: [String: [UInt8]] = [:]
        for f in RegistryDirectory.files {
            do { bytes[f] = try FileBytes.read(dir + "/" + f) } catch {
                throw .registry(RegistryError(file: dir + "/" + f, message: "cannot read: \(error.reason)"))
            }
        }
        let registry: Registry
        do {
            registry = try parser(c).parse(sites: bytes["sites.geojson"]!, agencies: bytes["agencies.csv"]!,
                                           vehicles: bytes["vehicles.csv"]!, tasks: bytes["tasks.csv"]!)
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
        do {
            registry = try parser(c).parse(sites: files["sites.geojson"] ?? [], agencies: files["agencies.csv"] ?? [],
                                           vehicles: files["vehicles.csv"] ?? [], tasks: Array(tasksHeader.utf8))
        } catch { throw .registry(error) }
        for t in tasks { registry.upsert(t) }
        return registry
    }
}
