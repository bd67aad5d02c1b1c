import Foundation

/// The files and folders a configuration names, checked before they are needed: each problem
/// names the setting and the path (`check-config` lists them all; `serve` refuses to start on
/// those it cannot run without, and says the rest).
public enum ConfigFiles {
    public struct Problem: Sendable, Equatable, CustomStringConvertible {
        public var setting: String
        public var path: String
        public var message: String
        /// `serve` cannot run without it (TLS files): it stops with this message.
        public var fatal: Bool
        public var description: String { "\(setting): \(path): \(message)" }
    }

    /// Every problem with the files and folders of `c`, in the order the settings appear.
    public static func problems(_ c: Configuration) -> [Problem] {
        var out: [Problem] = []
        let fm = FileManager.default
        func file(_ setting: String, _ path: String?, fatal: Bool) {
            guard let path else { return }
            var isDir: ObjCBool = false
            if !fm.fileExists(atPath: path, isDirectory: &isDir) {
                out.append(Problem(setting: setting, path: path, message: "no such file", fatal: fatal))
            } else if isDir.boolValue {
                out.append(Problem(setting: setting, path: path, message: "is a folder, not a file", fatal: fatal))
            } else if !fm.isReadableFile(atPath: path) {
                out.append(Problem(setting: setting, path: path, message: "not readable by this user", fatal: fatal))
            }
        }
        func folder(_ setting: String, _ path: String?, holding names: [String] = [], writable: Bool = false) {
            guard let path else { return }
            var isDir: ObjCBool = false
            if !fm.fileExists(atPath: path, isDirectory: &isDir) {
                out.append(Problem(setting: setting, path: path, message: "no such folder", fatal: false))
            } else if !isDir.boolValue {
                out.append(Problem(setting: setting, path: path, message: "is a file, not a folder", fatal: false))
            } else if !fm.isReadableFile(atPath: path) || !fm.isExecutableFile(atPath: path) {
                out.append(Problem(setting: setting, path: path, message: "not readable by this user", fatal: false))
            } else if writable && !fm.isWritableFile(atPath: path) {
                out.append(Problem(setting: setting, path: path, message: "not writable by this user", fatal: false))
            } else {
                for n in names where !fm.isReadableFile(atPath: path + "/" + n) {
                    out.append(Problem(setting: setting, path: path + "/" + n, message: "missing or not readable", fatal: false))
                }
            }
        }
        let d = c.daemon
        folder("registry.dir", c.registryDir, holding: ["sites.geojson", "agencies.csv", "vehicles.csv"])
        file("mqtt.ca_file", d.caFile, fatal: true)
        file("mqtt.cert_file", d.certFile, fatal: true)
        file("mqtt.key_file", d.keyFile, fatal: true)
        // The store's folder: the store, its WAL and its journal are created there.
        let storeFile = d.storePath
        if fm.fileExists(atPath: storeFile) {
            if !fm.isWritableFile(atPath: storeFile) {
                out.append(Problem(setting: "store.path", path: storeFile, message: "not writable by this user", fatal: false))
            }
        } else {
            let parent = (storeFile as NSString).deletingLastPathComponent
            folder("store.path", parent.isEmpty ? "." : parent, writable: true)
        }
        if d.httpPort > 0 {
            folder("http.leaflet_dir", d.leafletDir, holding: ["leaflet.js", "leaflet.css"])
            file("http.base_map", d.baseMap, fatal: false)
        }
        return out
    }
}
