/// A configuration that does not validate: which file and line, which setting, what is wrong.
public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int?
    /// The setting's dotted path, e.g. `visits.exit_grace`.
    public var setting: String
    public var message: String

    public var description: String {
        var s = file
        if let line { s += ":\(line)" }
        return s + ": " + (setting.isEmpty ? "" : setting + ": ") + message
    }
}
