import Foundation
import InspectionConfig
import InspectionCore
import InspectionTestSupport
import Testing

/// The files a configuration names are checked before they are needed (issue 27 item 3):
/// `check-config` names each missing or unusable one by its setting, all in one run; `serve`
/// stops at a missing TLS file with its setting and path, not libmosquitto's "Invalid function
/// arguments".
@Suite struct ConfigFilesTests {
    static func run(_ args: [String], in dir: URL) throws -> (status: Int32, out: String) {
        try runCapturing(DaemonEndToEndTests.executable, args, in: dir)
    }

    @Test func checkConfigNamesEveryMissingFileBySetting() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("files-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = dir.appendingPathComponent("config.yaml").path
        try Data("""
            registry: { dir: \(dir.path)/no-registry }
            mqtt: { ca_file: \(dir.path)/no-ca.crt, cert_file: \(dir.path), key_file: \(dir.path)/no.key }
            store: { path: \(dir.path)/no-folder/store.sqlite }
            http: { port: 8470, leaflet_dir: \(dir.path)/no-leaflet, base_map: \(dir.path)/no-roads.geojson }
            """.utf8).write(to: URL(fileURLWithPath: config))
        let r = try Self.run(["check-config", config], in: dir)
        #expect(r.status == 2)
        let lines = r.out.split(separator: "\n").map(String.init)
        for (setting, says) in [("registry.dir", "no such folder"), ("mqtt.ca_file", "no such file"), ("mqtt.cert_file", "is a folder, not a file"),
                                ("mqtt.key_file", "no such file"), ("store.path", "no such folder"), ("http.leaflet_dir", "no such folder"),
                                ("http.base_map", "no such file")] {
            #expect(lines.contains { $0.contains(": \(setting): ") && $0.hasSuffix(says) }, "\(setting) not named:\n\(r.out)")
        }
        #expect(lines.count == 7, "\(r.out)")

        // Everything there: ok.
        let registry = dir.appendingPathComponent("registry")
        try FileManager.default.createDirectory(at: registry, withIntermediateDirectories: true)
        for f in ["sites.geojson", "agencies.csv", "vehicles.csv"] { try Data().write(to: registry.appendingPathComponent(f)) }
        try Data("""
            registry: { dir: \(registry.path) }
            store: { path: \(dir.path)/store.sqlite }
            http: { port: 0 }
            """.utf8).write(to: URL(fileURLWithPath: config))
        let ok = try Self.run(["check-config", config], in: dir)
        #expect(ok.status == 0 && ok.out.contains(": ok"), "\(ok.out)")
        // A registry folder without its files names each.
        try FileManager.default.removeItem(at: registry.appendingPathComponent("vehicles.csv"))
        let missing = try Self.run(["check-config", config], in: dir)
        #expect(missing.status == 2 && missing.out.contains("registry.dir: \(registry.path)/vehicles.csv: missing or not readable"), "\(missing.out)")
    }

    @Test func serveWithAMissingCANamesTheSettingAndTheFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("serve-ca-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = dir.appendingPathComponent("config.yaml").path
        try Data("""
            mqtt: { port: 8883, ca_file: \(dir.path)/ca.crt }
            store: { path: \(dir.path)/store.sqlite }
            http: { port: 0 }
            """.utf8).write(to: URL(fileURLWithPath: config))
        let r = try Self.run(["serve", "--config", config], in: dir)
        #expect(r.status == 2)
        #expect(r.out.contains("mqtt.ca_file: \(dir.path)/ca.crt: no such file"), "\(r.out)")
        #expect(!r.out.contains("Invalid function arguments"))
    }

    @Test func bothExecutablesSayTheirVersion() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("version-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let watch = try Self.run(["--version"], in: dir)
        #expect(watch.status == 0 && watch.out.trimmingCharacters(in: .whitespacesAndNewlines) == BuildInfo.version)
        let sim = try runCapturing(SharedData.repoRoot.appendingPathComponent(".build/debug/inspection-sim").path, ["--version"], in: dir)
        #expect(sim.status == 0 && sim.out.trimmingCharacters(in: .whitespacesAndNewlines) == BuildInfo.version)
    }
}
