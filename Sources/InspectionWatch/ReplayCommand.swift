import Foundation
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

    @Option(name: .customLong("scans"), parsing: .upToNextOption,
            help: "Code scan files (CSV: scan_id,enterprise_id,agency_id,task_id,at). Given, every occasion is judged for unscanned_visit.")
    var scans: [String] = []

    @Flag(help: "Judge every occasion for unscanned_visit with no scan files (as an empty one).")
    var judgeScans = false

    func run() throws {
        let configuration = loadConfiguration(config)
        var replay = Replay(registryDir: registry, positionFiles: positions, outDir: out,
                            coordinates: configuration.coordinates, settings: configuration.engine,
                            scanFiles: scans.isEmpty && !judgeScans ? nil : scans)
        replay.bounds = configuration.registryBounds
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
        if let c = s.scans {
            for l in c.skipped.prefix(20) { lines.append("skipped " + l) }
            if c.skipped.count > 20 { lines.append("skipped … and \(c.skipped.count - 20) more scan lines") }
            lines.append("scans read      \(c.read)  (stored \(c.stored), duplicates \(c.duplicates), conflicts \(c.conflicts), skipped \(c.skipped.count), unknown enterprise \(c.unknownEnterprise), unknown agency \(c.unknownAgency))")
            let rate = c.occasions > 0 ? String(format: "%.1f %%", Double(c.covered) * 100 / Double(c.occasions)) : "–"
            lines.append("亮码检查率       \(rate)  (\(c.covered) of \(c.occasions) occasions covered by a scan; target ≥ 95 %)")
            let without = c.withoutVisit.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            lines.append("scans without a visit  \(c.withoutVisit.values.reduce(0, +))" + (without.isEmpty ? "" : "  (\(without))"))
        }
        lines.append("wrote           \(outDir)/visits.ndjson, \(outDir)/alerts.ndjson")
        return lines.joined(separator: "\n")
    }
}
