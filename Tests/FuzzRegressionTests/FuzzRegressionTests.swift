import Foundation
import InspectionConfig
import InspectionCore
import InspectionFuzzTargets
import InspectionTestSupport
import Testing

/// What the fuzzer starts from and what it found: every crash it ever found (Fuzz/regressions/<target>/)
/// runs clean through its target, and the seed corpora made from real data are what they claim to
/// be (each payload a position, each trace slice good lines only, each sites file sites).
@Suite struct FuzzRegressionTests {
    static let regressions = SharedData.repoRoot.appendingPathComponent("Fuzz/regressions")

    static func files(_ dir: URL) -> [URL] {
        ((try? FileManager.default.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil)) ?? [])
            .filter { !$0.lastPathComponent.hasPrefix(".") }.sorted { $0.path < $1.path }
    }

    static func run(_ target: FuzzTarget, _ file: URL) throws {
        let bytes = [UInt8](try Data(contentsOf: file))
        bytes.withUnsafeBufferPointer { target.run($0) }
    }

    @Test(arguments: FuzzTarget.allCases)
    func everyCrashFoundRunsClean(target: FuzzTarget) throws {
        for file in Self.files(Self.regressions.appendingPathComponent(target.rawValue)) { try Self.run(target, file) }
    }

    @Test func seedsFromRealDataAreWhatTheyClaimAndRunClean() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("seeds-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        try Seeds.write(data: SharedData.folder.path, repo: SharedData.repoRoot.path, to: out.path)
        for target in FuzzTarget.allCases {
            let seeds = Self.files(out.appendingPathComponent(target.rawValue))
            #expect(!seeds.isEmpty, "no seeds for \(target.rawValue)")
            for file in seeds {
                try Self.run(target, file)
                let bytes = [UInt8](try Data(contentsOf: file))
                switch target {
                case .native, .owntracks, .jt808:
                    let decoded = bytes.withUnsafeBufferPointer { PayloadDecoder.decode(PayloadFormat(rawValue: target.rawValue)!, payload: $0, topicVehicle: Array("V1".utf8)) }
                    // A position, or a batch (JT/T 808 0x0704) whose every item is one.
                    guard case .success(let message) = decoded, !message.items.isEmpty,
                          message.items.allSatisfy({ if case .success = $0 { return true }; return false }) else {
                        Issue.record("\(file.lastPathComponent) is not a position"); continue
                    }
                case .traceCSV, .traceNDJSON:
                    var batch = TraceBatch()
                    try bytes.withUnsafeBufferPointer { try TraceParser.parse($0, format: target == .traceCSV ? .csv : .ndjson, into: &batch) }
                    #expect(batch.skipped.total == 0 && !batch.positions.isEmpty, "\(target.rawValue)/\(file.lastPathComponent): \(batch.firstSkipped.prefix(2))")
                case .geojson:
                    var warnings: [String] = []
                    #expect(try !RegistryParser().parseSites(bytes, warnings: &warnings).isEmpty)
                case .agencies: #expect(try RegistryParser().parseAgencies(bytes).count == 2)
                case .vehicles: #expect(try !RegistryParser().parseVehicles(bytes, agencies: ["A1", "A2"]).isEmpty)
                case .tasks: #expect(try RegistryParser().parseTasks(bytes, agencies: ["A1", "A2"]).count == 30)
                case .config: _ = try Configuration.parse(String(decoding: bytes, as: UTF8.self))
                case .scan: _ = try ScanFields.scan(json: bytes)
                case .vehicleId: #expect(VehicleIdCheck.problem(bytes) == nil)
                }
            }
        }
    }
}
