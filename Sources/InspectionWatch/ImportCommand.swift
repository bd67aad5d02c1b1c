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
        guard registry != nil || scans != nil else { fail("give --registry DIR, --scans FILE, or both") }
        // The whole folder first, every error at once, before any store is opened.
        if let registry {
            let problems = RegistryDirectory.problems(registry, parser: StoredRegistry.parser(c))
            if !problems.isEmpty {
                var err = StandardError()
                for p in problems { print("inspection-watch: registry: \(p)", to: &err) }
                if problems.count == 20 { print("inspection-watch: registry: … (the first 20 shown)", to: &err) }
                exitProcess(2)
            }
        }
        // A store this run creates is removed again if the run fails: nothing half-made is left.
        let created = !FileManager.default.fileExists(atPath: path)
        func failing(_ message: String) -> Never {
            if created { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
            fail(message)
        }
        let db: Store
        do { db = try Store(path: path) } catch { failing("\(path): \(error)") }
        if let scans { importScans(scans, into: db, path: path, failing: failing) }
        guard let registry else { return }
        do {
            let r = try StoredRegistry.importFolder(registry, into: db, configuration: c, actor: "import")
            for w in r.warnings.prefix(5) { print("warning: " + w) }
            print("imported \(r.sites.count) sites, \(r.agencies.count) agencies, \(r.vehicles.count) vehicles, \(r.tasks.count) tasks into \(path)")
        } catch { failing(error.description) }
    }
}

extension ImportCommand {
    /// Scans from a CSV file: the lines that validate are stored (a `scan_id` stored already is a
    /// duplicate, or a conflict if it differs); each line that does not is named.
    func importScans(_ file: String, into db: Store, path: String, failing: (String) -> Never) {
        let parsed: (scans: [Scan], errors: [String])
        do { parsed = try ScanFields.parseCSV(try FileBytes.read(file), file: file) } catch { failing("\(error)") }
        for e in parsed.errors.prefix(20) { print("skipped " + e) }
        if parsed.errors.count > 20 { print("skipped … and \(parsed.errors.count - 20) more lines") }
        do {
            let r = try db.importScans(parsed.scans, at: Millis(Date().timeIntervalSince1970 * 1000))
            print("imported \(r.inserted) scans into \(path) (\(r.duplicates) duplicates, \(r.conflicts) conflicts, \(parsed.errors.count) lines skipped)")
        } catch { failing("\(path): \(error)") }
    }
}
