import ArgumentParser
import InspectionCore
import InspectionFiles
import InspectionReplay

/// Our answers for the GEOS cross-check: every site within a radius of each point, with distance.
struct GeometryProbe: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "geometry",
        abstract: "Prints point,site_id,distance_m for every site within --radius of each point (0 = inside).")

    @Option var sites: String
    @Option var points: String
    @Option var radius: Double = 100

    func run() throws {
        var warnings: [String] = []
        let parsed = try RegistryParser().parseSites(FileBytes.read(sites), warnings: &warnings)
        let registry = Registry(sites: parsed, agencies: [], vehicles: [], tasks: [], margin: 30)
        let text = String(decoding: try FileBytes.read(points), as: UTF8.self)
        var out = ""
        out.reserveCapacity(1 << 20)
        for (i, line) in text.split(separator: "\n").enumerated() {
            let f = line.split(separator: ",")
            guard f.count == 2, let lat = Double(f[0]), let lon = Double(f[1]) else { continue }
            for hit in registry.index.sites(within: radius, lat: lat, lon: lon) {
                out += "\(i),\(registry.site(hit.site).id),\(hit.distanceM)\n"
            }
            if out.utf8.count > 1 << 20 { print(out, terminator: ""); out = "" }
        }
        print(out, terminator: "")
    }
}
