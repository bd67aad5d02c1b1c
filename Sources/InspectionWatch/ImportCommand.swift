import ArgumentParser
import Foundation
import InspectionConfig
import InspectionCore
import InspectionFiles
import InspectionDaemon
import InspectionStore

struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Validates a registry folder, or code scans, and loads them into the store the daemon matches against."
    )

    @Option(help: "Registry folder: sites.geojson, agencies.csv, vehicles.csv, tasks.csv.")
    var registry: String?

    @Option(help: "Code scans (CSV: scan_id,enterprise_id,agency_id,task_id,at); the running daemon takes them within seconds.")
    var scans: String?

    @OptionGroup var options: StoreOptions

    func run() throws {
        let (c, path) = options.resolve()
        let db: Store
        guard registry != nil || scans != nil else { fail("give --registry DIR, --scans FILE, or both") }
        do { db = try Store(path: path) } catch { fail("\(path): \(error)") }
        if let scans { importScans(scans, into: db, path: path) }
        guard let registry else { return }
        do {
            let r = try StoredRegistry.importFolder(registry, into: db, configuration: c, actor: "import")
            for w in r.warnings.prefix(5) { print("warning: " + w) }
            print("imported \(r.sites.count) sites, \(r.agencies.count) agencies, \(r.vehicles.count) vehicles, \(r.tasks.count) tasks into \(path)")
        } catch { fail(error.description) }
    }
}

extension ImportCommand {
    /// Scans from a CSV file: the lines that validate are stored (a `scan_id` stored already is a
    /// duplicate, or a conflict if it differs); each line that does not is named.
    func importScans(_ file: String, into db: Store, path: String) {
        let parsed: (scans: [Scan], errors: [String])
        do { parsed = try ScanFields.parseCSV(try FileBytes.read(file), file: file) } catch { fail("\(error)") }
        for e in parsed.errors.prefix(20) { print("skipped " + e) }
        if parsed.errors.count > 20 { print("skipped … and \(parsed.errors.count - 20) more lines") }
        do {
            let r = try db.importScans(parsed.scans, at: Millis(Date().timeIntervalSince1970 * 1000))
            print("imported \(r.inserted) scans into \(path) (\(r.duplicates) duplicates, \(r.conflicts) conflicts, \(parsed.errors.count) lines skipped)")
        } catch { fail("\(path): \(error)") }
    }
}
