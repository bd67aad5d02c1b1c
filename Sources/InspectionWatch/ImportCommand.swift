import ArgumentParser
import InspectionConfig
import InspectionDaemon
import InspectionStore

struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Validates a registry folder and loads it into the store the daemon matches against."
    )

    @Option(help: "Registry folder: sites.geojson, agencies.csv, vehicles.csv, tasks.csv.")
    var registry: String

    @OptionGroup var options: StoreOptions

    func run() throws {
        let (c, path) = options.resolve()
        let db: Store
        do { db = try Store(path: path) } catch { fail("\(path): \(error)") }
        do {
            let r = try StoredRegistry.importFolder(registry, into: db, configuration: c, actor: "import")
            for w in r.warnings.prefix(5) { print("warning: " + w) }
            print("imported \(r.sites.count) sites, \(r.agencies.count) agencies, \(r.vehicles.count) vehicles, \(r.tasks.count) tasks into \(path)")
        } catch { fail(error.description) }
    }
}
