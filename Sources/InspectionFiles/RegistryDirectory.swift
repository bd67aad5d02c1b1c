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
        for f in files {
            if let size = FileBytes.size(dir + "/" + f), size > maxFileBytes {
                throw RegistryError(file: dir + "/" + f, message: "\(size >> 20) MB, over the \(maxFileBytes >> 20) MB a registry file may have")
            }
            do { contents[f] = try FileBytes.read(dir + "/" + f) } catch {
                throw RegistryError(file: dir + "/" + f, message: "cannot read: \(error.reason)")
            }
        }
        return contents
    }

    /// The registry those bytes make (all four files present, as `read` gives them).
    public static func parse(_ contents: [String: [UInt8]], parser: RegistryParser) throws(RegistryError) -> Registry {
        try parser.parse(sites: contents["sites.geojson"] ?? [], agencies: contents["agencies.csv"] ?? [],
                         vehicles: contents["vehicles.csv"] ?? [], tasks: contents["tasks.csv"] ?? [])
    }
}
