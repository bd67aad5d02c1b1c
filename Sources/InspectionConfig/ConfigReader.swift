import Foundation
import Yams

/// Walks a YAML mapping, reading known settings and rejecting unknown ones, so that a typo in a
/// setting's name is an error that names it instead of a default silently used.
struct ConfigReader {
    let file: String
    let path: String
    let node: Node?
    private(set) var used: Set<String> = []

    init(file: String, path: String, node: Node?) {
        self.file = file; self.path = path; self.node = node
    }

    func fail(_ key: String, _ message: String, _ at: Node? = nil) -> ConfigError {
        ConfigError(file: file, line: (at ?? node)?.mark?.line, setting: path.isEmpty ? key : (key.isEmpty ? path : path + "." + key),
                    message: message)
    }

    func value(_ key: String) -> Node? {
        guard case .mapping(let m)? = node else { return nil }
        for (k, v) in m where k.string == key {
            if case .scalar(let s) = v, s.style == .plain, ["", "~", "null", "Null", "NULL"].contains(s.string) { return nil }
            return v
        }
        return nil
    }

    mutating func section(_ key: String) throws(ConfigError) -> ConfigReader {
        used.insert(key)
        guard let v = value(key) else { return ConfigReader(file: file, path: join(key), node: nil) }
        guard case .mapping = v else { throw fail(key, "must be a mapping of settings", v) }
        return ConfigReader(file: file, path: join(key), node: v)
    }

    func join(_ key: String) -> String { path.isEmpty ? key : path + "." + key }

    /// Keys present in the mapping.
    var keys: [(String, Node)] {
        guard case .mapping(let m)? = node else { return [] }
        return m.map { ($0.key.string ?? "", $0.value) }
    }

    mutating func string(_ key: String) throws(ConfigError) -> String? {
        used.insert(key)
        guard let v = value(key) else { return nil }
        guard case .scalar(let s) = v else { throw fail(key, "must be a text value", v) }
        return s.string
    }

    mutating func bool(_ key: String) throws(ConfigError) -> Bool? {
        used.insert(key)
        guard let v = value(key) else { return nil }
        guard let b = v.bool else { throw fail(key, "\"\(v.string ?? "?")\" is not true or false", v) }
        return b
    }

    mutating func int(_ key: String, min lo: Int = Int.min, max hi: Int = Int.max) throws(ConfigError) -> Int? {
        used.insert(key)
        guard let v = value(key) else { return nil }
        guard let i = v.int else { throw fail(key, "\"\(v.string ?? "?")\" is not a whole number", v) }
        guard i >= lo && i <= hi else {
            throw fail(key, "\(i) is out of range (\(lo == Int.min ? "" : String(lo))…\(hi == Int.max ? "" : String(hi)))", v)
        }
        return i
    }

    mutating func double(_ key: String, min lo: Double = -.infinity, max hi: Double = .infinity) throws(ConfigError) -> Double? {
        used.insert(key)
        guard let v = value(key) else { return nil }
        guard let d = v.float ?? v.int.map(Double.init), d.isFinite else {
            throw fail(key, "\"\(v.string ?? "?")\" is not a number", v)
        }
        guard d >= lo else { throw fail(key, "\(d) must be at least \(lo)", v) }
        guard d <= hi else { throw fail(key, "\(d) must be at most \(hi)", v) }
        return d
    }

    /// A secret given inline (`key`), or read from a file (`key_file`): a path, or a name in
    /// systemd's credentials folder (`$CREDENTIALS_DIRECTORY`, `LoadCredential=`) when it has no
    /// slash. The file's one line is the secret (a final newline dropped). Never put in a message.
    mutating func secret(_ key: String, environment: [String: String]) throws(ConfigError) -> String? {
        let fileKey = key + "_file"
        let inline = try string(key)
        guard let name = try string(fileKey) else { return inline }
        guard inline == nil else { throw fail(fileKey, "give \(key) or \(fileKey), not both") }
        let path: String
        if name.contains("/") {
            path = name
        } else if let dir = environment["CREDENTIALS_DIRECTORY"], !dir.isEmpty {
            path = dir + "/" + name
        } else {
            throw fail(fileKey, "\"\(name)\" is a credential name, but $CREDENTIALS_DIRECTORY is not set (systemd LoadCredential=); give a path")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw fail(fileKey, "\(path): cannot be read")
        }
        var text = String(decoding: data, as: UTF8.self)
        while let last = text.last, last == "\n" || last == "\r" { text.removeLast() }
        guard !text.isEmpty, !text.contains("\n") else { throw fail(fileKey, "\(path): must hold the secret on one line") }
        return text
    }

    /// A list of numbers (`[120.9, 29.9, 121.6, 30.5]`).
    mutating func numbers(_ key: String) throws(ConfigError) -> [Double]? {
        used.insert(key)
        guard let v = value(key) else { return nil }
        guard case .sequence(let seq) = v else { throw fail(key, "must be a list of numbers", v) }
        var out: [Double] = []
        for item in seq {
            guard let d = item.float ?? item.int.map(Double.init), d.isFinite else {
                throw fail(key, "\"\(item.string ?? "?")\" is not a number", item)
            }
            out.append(d)
        }
        return out
    }

    /// A list of mappings, each read with its own reader (`mqtt.subscriptions[1]`).
    mutating func list(_ key: String) throws(ConfigError) -> [ConfigReader]? {
        used.insert(key)
        guard let v = value(key) else { return nil }
        guard case .sequence(let seq) = v else { throw fail(key, "must be a list", v) }
        var out: [ConfigReader] = []
        for (i, item) in seq.enumerated() {
            guard case .mapping = item else { throw fail("\(key)[\(i)]", "must be a mapping", item) }
            out.append(ConfigReader(file: file, path: join(key) + "[\(i)]", node: item))
        }
        return out
    }

    /// A duration: a number of seconds, or a number with a unit: `ms`, `s`, `m`, `h`, `d`.
    mutating func duration(_ key: String) throws(ConfigError) -> Int64? {
        used.insert(key)
        guard let v = value(key) else { return nil }
        guard let text = v.string, let ms = Self.parseDuration(text) else {
            throw fail(key, "\"\(v.string ?? "?")\" is not a duration (seconds, or e.g. 500ms, 120s, 30m, 2h, 7d)", v)
        }
        return ms
    }

    static func parseDuration(_ text: String) -> Int64? {
        let t = text.trimmingCharacters(in: .whitespaces).lowercased()
        let units: [(String, Double)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000)]
        for (u, scale) in units where t.hasSuffix(u) {
            let num = t.dropLast(u.count).trimmingCharacters(in: .whitespaces)
            guard let d = Double(num), d >= 0, d * scale < 1e15 else { return nil }  // no trap on 1e300
            return Int64((d * scale).rounded())
        }
        guard let d = Double(t), d >= 0, d * 1000 < 1e15 else { return nil }
        return Int64((d * 1000).rounded())
    }

    /// Throws for a key this reader did not ask for.
    func rejectUnknown() throws(ConfigError) {
        for (k, v) in keys where !used.contains(k) {
            throw ConfigError(file: file, line: v.mark?.line, setting: join(k), message: "unknown setting")
        }
    }
}
