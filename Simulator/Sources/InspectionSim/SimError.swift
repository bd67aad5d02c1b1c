/// What stops the simulator: a one-line message naming the file or option at fault.
public struct SimError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
