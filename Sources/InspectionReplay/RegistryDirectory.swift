import InspectionCore

/// A registry folder (SPEC §2) read from disk.
public enum RegistryDirectory {
    public static let files = ["sites.geojson", "agencies.csv", "vehicles.csv", "tasks.csv"]

    public static func load(_ dir: String, parser: RegistryParser) throws(RegistryError) -> Registry {
        var contents: [[UInt8]] = []
        for f in files {
            do { contents.append(try FileBytes.read(dir + "/" + f)) } catch {
                throw RegistryError(file: dir + "/" + f, message: "cannot read: \(error.reason)")
            }
        }
        return try parser.parse(sites: contents[0], agencies: contents[1], vehicles: contents[2], tasks: contents[3])
    }
}
