import ArgumentParser
import InspectionConfig
import InspectionCore
import InspectionReplay

struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Runs the engine over trace files and writes visits.ndjson and alerts.ndjson."
    )

    @Option(help: "Registry folder: sites.geojson, agencies.csv, vehicles.csv, tasks.csv.")
    var registry: String

    @Option(name: .customLong("positions"), parsing: .upToNextOption, help: "Trace files (CSV or NDJSON), in any order.")
    var positions: [String]

    @Option(help: "Output folder.")
    var out: String

    @Option(help: "Configuration file (YAML); SPEC defaults without it.")
    var config: String?

    func run() throws {
        let configuration = loadConfiguration(config)
        let replay = Replay(registryDir: registry, positionFiles: positions, outDir: out,
                            coordinates: configuration.coordinates, settings: configuration.engine)
        let started = MonotonicClock.now()
        let summary: Replay.Summary
        do { summary = try replay.run() } catch { fail(error.description) }
        let seconds = MonotonicClock.seconds(since: started)
        print(SummaryText.render(summary, seconds: seconds, outDir: out))
    }
}

enum SummaryText {
    static func render(_ s: Replay.Summary, seconds: Double, outDir: String) -> String {
        var lines: [String] = []
        for w in s.registryWarnings.prefix(5) { lines.append("warning: " + w) }
        if s.registryWarnings.count > 5 { lines.append("warning: … and \(s.registryWarnings.count - 5) more registry warnings") }
        for l in s.skippedLines { lines.append("skipped " + l) }
        let rate = seconds > 0 ? Int(Double(s.linesRead) / seconds) : 0
        lines.append("positions read  \(s.linesRead) from \(s.files) file(s)\(s.sortedInput ? "" : ", reordered by time")  (\(rate)/s)")
        lines.append("accepted        \(s.accepted)")
        let rejected = s.rejected.nonZero
        lines.append("rejected        \(s.rejected.total)" + (rejected.isEmpty ? "" : "  (" + rejected.map { "\($0.0.rawValue) \($0.1)" }.joined(separator: ", ") + ")"))
        lines.append("visits          \(s.visits.count)")
        lines.append("alerts          \(s.alerts.count)")
        for (k, n) in s.alertsByKind { lines.append("  " + k.rawValue.padding(toLength: 26, withPad: " ", startingAt: 0) + "\(n)") }
        lines.append("wrote           \(outDir)/visits.ndjson, \(outDir)/alerts.ndjson")
        return lines.joined(separator: "\n")
    }
}
