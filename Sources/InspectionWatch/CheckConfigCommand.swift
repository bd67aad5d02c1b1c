import ArgumentParser
import InspectionConfig

struct CheckConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validates a configuration file and the files and folders it names; each error names the setting."
    )

    @Argument(help: "Configuration file (YAML).")
    var file: String

    @Flag(help: "As the service's ExecStartPre: fail only on what serve cannot run without (the YAML, secrets, TLS files); say the rest.")
    var service = false

    func run() throws {
        let c: Configuration
        do { c = try Configuration.load(path: file) } catch { fail(error.description) }
        var problems = ConfigFiles.problems(c)
        if service {
            var err = StandardError()
            for p in problems where !p.fatal { print("inspection-watch: \(file): warning: \(p)", to: &err) }
            problems = problems.filter(\.fatal)
        }
        guard problems.isEmpty else {
            // Every problem at once, each naming its setting: one run to fix them all.
            var err = StandardError()
            for p in problems { print("inspection-watch: \(file): \(p)", to: &err) }
            exitProcess(2)
        }
        print("\(file): ok (time zone \(c.engine.calendar.identifier), coordinates \(c.coordinates.rawValue))")
    }
}
