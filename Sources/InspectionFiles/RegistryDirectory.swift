import InspectionCore

/// A registry folder (SPEC §2) read from disk.
public enum RegistryDirectory {
    public static let files = ["sites.geojson", "agencies.csv", "vehicles.csv", "tasks.csv"]
    /// The largest file of a registry folder read: a city's sites and a year of tasks take a few
    /// megabytes; a file past this is a mistake, not a registry.
    public static let maxFileBytes = 64 << 20

    public static func load(_ dir: String, parser: RegistryParser) throws(RegistryError) -> Registry {
        try parse(read(dir), parser: parser)
    }

    /// The bytes of the four files, by name.
    public static func read(_ dir: String) throws(RegistryError) -> [String: [UInt8]] {
        var contents: [String: [UInt8]] = [:]
        for f in files { contents[f] = try file(dir + "/" + f) }
        return contents
    }

    /// One file's bytes: too large or unreadable is an error naming it.
    static func file(_ path: String) throws(RegistryError) -> [UInt8] {
        if let size = FileBytes.size(path), size > maxFileBytes {
            throw RegistryError(file: path, message: "\(size >> 20) MB, over the \(maxFileBytes >> 20) MB a registry file may have")
        }
        do { return try FileBytes.read(path) } catch {
            throw RegistryError(file: path, message: "cannot read: \(error.reason)")
        }
    }

    /// The registry those bytes make (all four files present, as `read` gives them).
    public static func parse(_ contents: [String: [UInt8]], parser: RegistryParser) throws(RegistryError) -> Registry {
        try parser.parse(sites: contents["sites.geojson"] ?? [], agencies: contents["agencies.csv"] ?? [],
                         vehicles: contents["vehicles.csv"] ?? [], tasks: contents["tasks.csv"] ?? [])
    }
}

extension RegistryDirectory {
    /// Problems of a registry folder, found in one pass over all of it (an office fixing a folder
    /// wants every error, not one per run): each file missing or too large; in each CSV file its
    /// first error, then each line's own (up to `limit` in all); in sites.geojson its first error.
    /// A vehicle's or task's agency is checked against the agencies that did validate. Empty: the
    /// folder loads.
    public static func problems(_ dir: String, parser: RegistryParser, limit: Int = 20) -> [RegistryError] {
        var out: [RegistryError] = []
        var bytes: [String: [UInt8]] = [:]
        for f in files {
            do { bytes[f] = try file(dir + "/" + f) } catch { out.append(error) }
        }
        if let b = bytes["sites.geojson"] {
            var warnings: [String] = []
            do { _ = try parser.parseSites(b, warnings: &warnings) } catch { out.append(error) }
        }
        var agencies = Set<String>()
        if let b = bytes["agencies.csv"] {
            do { agencies = Set(try parser.parseAgencies(b).map(\.id)) } catch {
                out += lineProblems(b, first: error) { line throws(RegistryError) in
                    agencies.formUnion(try parser.parseAgencies(line).map(\.id))
                }
            }
        }
        if let b = bytes["vehicles.csv"] {
            do { _ = try parser.parseVehicles(b, agencies: agencies) } catch {
                out += lineProblems(b, first: error) { line throws(RegistryError) in _ = try parser.parseVehicles(line, agencies: agencies) }
            }
        }
        if let b = bytes["tasks.csv"] {
            do { _ = try parser.parseTasks(b, agencies: agencies) } catch {
                out += lineProblems(b, first: error) { line throws(RegistryError) in _ = try parser.parseTasks(line, agencies: agencies) }
            }
        }
        return Array(out.prefix(limit))
    }

    /// The whole file's first error, then each line's own, checked as the header and that line
    /// alone (the line numbers are the file's). A duplicate id shows only as the first error.
    static func lineProblems(_ bytes: [UInt8], first: RegistryError, check: ([UInt8]) throws(RegistryError) -> Void) -> [RegistryError] {
        var out = [first]
        let lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        guard let header = lines.first else { return out }
        for (i, line) in lines.enumerated().dropFirst() where !line.allSatisfy({ $0 == 13 || $0 == 32 }) {
            do { try check(Array(header) + [10] + Array(line) + [10]) } catch {
                var e = error
                if e.location == "line 2" { e.location = "line \(i + 1)" }
                if !out.contains(e) { out.append(e) }
            }
        }
        return out
    }
}
