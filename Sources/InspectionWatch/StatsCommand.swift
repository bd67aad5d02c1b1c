import ArgumentParser
import Foundation
import InspectionConfig
import InspectionCore
import InspectionDaemon
import InspectionStore

struct StatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Statistics per agency from the store: visits, occasions, 计划检查率, 联合检查实施率 and 亮码检查率 against their targets, scans without a visit, alerts by kind; occasions and alerts per risk class."
    )

    @OptionGroup var options: StoreOptions

    @Option(help: "First day (YYYY-MM-DD, local) or RFC 3339 instant; default: 1 January of this year.")
    var from: String?

    @Option(help: "Last day (YYYY-MM-DD, inclusive) or RFC 3339 instant (exclusive); default: 31 December of this year.")
    var to: String?

    @Option(help: "Only this agency.")
    var agency: String?

    func run() throws {
        let (c, path) = options.resolve()
        let calendar = c.engine.calendar
        let year = calendar.yearBounds(of: Millis(Date().timeIntervalSince1970 * 1000))
        func bound(_ text: String?, _ name: String, endOfDay: Bool, _ fallback: Millis) -> Millis {
            guard let text else { return fallback }
            guard let t = calendar.instant(text, endOfDay: endOfDay) else {
                fail("--\(name) \"\(text)\" is not a date YYYY-MM-DD or an RFC 3339 time with offset")
            }
            return t
        }
        let start = bound(from, "from", endOfDay: false, year.from)
        let end = bound(to, "to", endOfDay: true, year.to)
        guard end > start else { fail("--to must be after --from") }
        guard FileManager.default.fileExists(atPath: path) else { fail("\(path): no such store") }
        let rows: [AgencyStatistics], classes: [ClassStatistics]
        do {
            let store = try Store(path: path, readOnly: true)
            rows = try store.statistics(from: start, to: end, agencyId: agency, scanSlack: c.engine.scanSlack)
            let classOf = (try? StoredRegistry.load(from: store, configuration: c))??.enterpriseClasses ?? [:]
            classes = try store.classStatistics(from: start, to: end, agencyId: agency, classOf: classOf)
        } catch { fail("\(path): \(error)") }
        // The period as the office gave it: local time (the last instant shown is the end, exclusive).
        print("\(calendar.localText(start)) … \(calendar.localText(end)) \(calendar.identifier)  (targets: 计划检查率 ≥ 75 %, 联合检查实施率 ≥ 80 %, 亮码检查率 ≥ 95 %)")
        func pct(_ v: Double?, _ target: Double) -> String {
            guard let v else { return "—" }
            return String(format: "%.1f %%", v * 100) + (v >= target ? "" : " (below)")
        }
        let header = ["agency", "visits", "occasions", "planned", "joint", "scanned", "scans w/o visit", "alerts"]
        var table = [header]
        for r in rows where agency == nil || r.agencyId != nil {
            let alerts = AlertKind.allCases.compactMap { k in r.alerts[k].map { "\(k.rawValue) \($0)" } }.joined(separator: ", ")
            table.append([r.agencyId ?? "all", String(r.visits), String(r.occasions), pct(r.plannedShare, AgencyStatistics.plannedTarget),
                          pct(r.jointShare, AgencyStatistics.jointTarget), pct(r.scannedShare, AgencyStatistics.scannedTarget),
                          String(r.scansWithoutVisit), alerts.isEmpty ? "none" : alerts])
        }
        let widths = (0..<header.count).map { i in table.map { $0[i].count }.max() ?? 0 }
        for row in table {
            print(row.enumerated().map { i, cell in i == row.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
                .joined(separator: "  "))
        }
        if !classes.isEmpty {
            print("by risk class:")
            for c in classes {
                let alerts = AlertKind.allCases.compactMap { k in c.alerts[k].map { "\(k.rawValue) \($0)" } }.joined(separator: ", ")
                print("  \((c.riskClass ?? "none").padding(toLength: 6, withPad: " ", startingAt: 0))  occasions \(c.occasions)  alerts: \(alerts.isEmpty ? "none" : alerts)")
            }
        }
    }
}