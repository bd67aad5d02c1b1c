import Foundation
import InspectionSim

extension SharedData {
    /// A simulated scenario on a real area's roads and outlines (`osm/<area>-roads.geojson`,
    /// `osm/<area>-polygons.geojson`).
    public static func scenario(_ options: ScenarioOptions, area: String = "kotka") throws -> Scenario {
        try ScenarioGenerator.generate(
            roads: try Data(contentsOf: URL(fileURLWithPath: path("osm/\(area)-roads.geojson"))), roadsFile: "roads",
            sites: try Data(contentsOf: URL(fileURLWithPath: path("osm/\(area)-polygons.geojson"))), sitesFile: "sites",
            options: options)
    }
}
