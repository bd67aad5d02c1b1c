/// A registry that cannot be loaded: the file, where in it, the field, and what is wrong.
public struct RegistryError: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    /// "line 7", "feature 12 (site_id \"S1\")", or empty for the whole file.
    public var location: String
    public var field: String?
    public var message: String

    public init(file: String, location: String = "", field: String? = nil, message: String) {
        self.file = file; self.location = location; self.field = field; self.message = message
    }

    public var description: String {
        var s = file
        if !location.isEmpty { s += " " + location }
        if let field { s += ", field \(field)" }
        return s + ": " + message
    }
}
