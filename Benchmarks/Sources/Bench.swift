import ArgumentParser

@main
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspection-bench",
        abstract: "Benchmarks and cross-checks for InspectionWatch (see Benchmarks/README.md).",
        subcommands: [GeometryProbe.self, Generate.self, ReplayThroughput.self, SpatialThroughput.self, Memory.self, JournalThroughput.self, DaemonLoad.self, CheckpointCost.self, LateCost.self]
    )
}
