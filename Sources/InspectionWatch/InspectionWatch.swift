import ArgumentParser
import InspectionConfig
import InspectionCore

@main
struct InspectionWatch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspection-watch",
        abstract: "Finds enforcement vehicles' visits to enterprises and flags unregistered, repeated and multi-agency inspections.",
        version: BuildInfo.version,
        subcommands: [ServeCommand.self, ReplayCommand.self, ImportCommand.self, StatsCommand.self, CheckConfigCommand.self]
    )
}

/// Prints a one-line error and exits 2: what the commands do for bad files and settings.
func fail(_ message: String) -> Never {
    var err = StandardError()
    print("inspection-watch: " + message, to: &err)
    exitProcess(2)
}

/// The configuration file, or SPEC's defaults without one; a bad file is a one-line error, exit 2.
func loadConfiguration(_ path: String?) -> Configuration {
    guard let path else { return Configuration() }
    do { return try Configuration.load(path: path) } catch { fail(error.description) }
}

/// `--config` and `--store`: the commands that work on the store without the daemon.
struct StoreOptions: ParsableArguments {
    @Option(help: "Configuration file (YAML): the store path, time zone and coordinate system.")
    var config: String?

    @Option(help: "The store (SQLite file); overrides store.path of the configuration.")
    var store: String?

    /// The configuration and the store's path; a bad file is a one-line error, exit 2.
    func resolve() -> (configuration: Configuration, path: String) {
        let c = loadConfiguration(config)
        return (c, store ?? c.daemon.storePath)
    }
}
