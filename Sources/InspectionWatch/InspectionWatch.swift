import ArgumentParser
import InspectionConfig

@main
struct InspectionWatch: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspection-watch",
        abstract: "Finds enforcement vehicles' visits to enterprises and flags unregistered, repeated and multi-agency inspections.",
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
