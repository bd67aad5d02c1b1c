import Foundation
import InspectionCore
import InspectionTestSupport
import Testing

/// The Debian package (issue 27 item 1): built by `scripts/package` (from this build's
/// executables), installed with dpkg into a fresh root; its files, the drop folder and the
/// credentials folder are where the unit expects them, the unit verifies with systemd-analyze,
/// and the installed example configuration passes the unit's own `check-config --service`.
@Suite(.serialized) struct PackageInstallTests {
    static func sh(_ script: String, in dir: URL) throws -> (status: Int32, out: String) {
        try runCapturing("/bin/bash", ["-c", script], in: dir)
    }

    @Test func thePackageInstallsIntoAFreshRootAndItsUnitVerifies() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("package-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let repo = SharedData.repoRoot.path
        let built = try Self.sh("cd \(repo) && IW_BIN_DIR=.build/debug scripts/package --skip-build", in: dir)
        #expect(built.status == 0, "\(built.out)")
        let deb = repo + "/" + (built.out.split(separator: "\n").last.map(String.init) ?? "")
        #expect(deb.hasSuffix("inspection-watch_\(BuildInfo.version)_amd64.deb") || deb.hasSuffix("_arm64.deb"), "\(built.out)")
        let root = dir.appendingPathComponent("root").path
        let installed = try Self.sh("\(repo)/Tests/Package/install_check.sh \(root) \(deb)", in: dir)
        #expect(installed.status == 0, "\(installed.out)")
        #expect(installed.out.contains("verify ok") && installed.out.contains("Status: install ok installed"), "\(installed.out)")
        #expect(installed.out.contains("Overall exposure level for inspection-watch.service: 1."), "\(installed.out)")

        let fm = FileManager.default
        for f in ["/usr/bin/inspection-watch", "/usr/bin/inspection-sim"] { #expect(fm.isExecutableFile(atPath: root + f), "\(f)") }
        for f in ["/lib/systemd/system/inspection-watch.service", "/etc/inspection-watch/inspection-watch.yaml",
                  "/usr/share/doc/inspection-watch/README.md", "/usr/share/doc/inspection-watch/docs/operations.md",
                  "/usr/share/doc/inspection-watch/examples/mosquitto.conf"] {
            #expect(fm.fileExists(atPath: root + f), "\(f) missing")
        }
        let unit = try String(contentsOfFile: root + "/lib/systemd/system/inspection-watch.service", encoding: .utf8)
        #expect(unit.contains("ExecStart=/usr/bin/inspection-watch serve") && unit.contains("ExecStartPre=/usr/bin/inspection-watch check-config --service"))
        #expect(unit.contains("LoadCredential=iw:/etc/inspection-watch/credentials") && unit.contains("SupplementaryGroups=inspection-office"))
        // The drop folder: the office's group may write it (setgid: new files stay in the group).
        let group = try String(contentsOfFile: root + "/etc/group", encoding: .utf8)
        let gid = try #require(group.split(separator: "\n").first { $0.hasPrefix("inspection-office:") }?.split(separator: ":")[2])
        let drop = try fm.attributesOfItem(atPath: root + "/srv/inspection-watch/registry")
        #expect((drop[.posixPermissions] as? Int) == 0o2770 && (drop[.groupOwnerAccountID] as? Int).map(String.init) == String(gid))
        let credentials = try fm.attributesOfItem(atPath: root + "/etc/inspection-watch/credentials")
        #expect((credentials[.posixPermissions] as? Int) == 0o700)
        // The conffile is registered as one (an upgrade keeps the office's edits).
        let conffiles = try String(contentsOfFile: root + "/var/lib/dpkg/info/inspection-watch.conffiles", encoding: .utf8)
        #expect(conffiles.contains("/etc/inspection-watch/inspection-watch.yaml"))
        // The installed example passes the unit's ExecStartPre (folders outside the root only warn).
        let check = try Self.sh("\(root)/usr/bin/inspection-watch check-config --service \(root)/etc/inspection-watch/inspection-watch.yaml", in: dir)
        #expect(check.status == 0 && check.out.contains(": ok"), "\(check.out)")
        #expect(check.out.contains("warning: registry.dir: /srv/inspection-watch/registry"))
    }
}
