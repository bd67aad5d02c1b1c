import ArgumentParser
import InspectionConfig

struct CheckConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validates a configuration file; names the setting that is wrong."
    )

    @Argument(help: "Configuration file (YAML).")
    var file: String

    func run() throws {
        do {
            let c = try Configuration.load(path: file)
            print("\(file): ok (time zone \(c.engine.calendar.identifier), coordinates \(c.coordinates.rawValue))")
        } catch { fail(error.description) }
    }
}
