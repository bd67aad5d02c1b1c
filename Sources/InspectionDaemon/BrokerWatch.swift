/// What to say while the broker cannot be reached (issue 27: it went unsaid for 24 s): the first
/// failure at once with its reason, then a reminder every `every` seconds with the latest reason
/// and how long it has lasted, and one line when the connection is back. A value the MQTT
/// client's events and the engine's report tick feed; the logger only carries its lines out.
struct BrokerWatch {
    enum Line: Equatable {
        case down(reason: String)
        case stillDown(reason: String, seconds: Int)
        case back(afterSeconds: Int)
    }

    let every: Double
    private(set) var downSince: Double?
    private(set) var reason = ""
    private var lastSaid = -Double.infinity

    init(every: Double = 30) { self.every = every }

    /// A failure to connect, a refusal or a lost connection.
    mutating func failed(_ why: String, now: Double) -> Line? {
        reason = why
        guard downSince == nil else { return nil }
        downSince = now
        lastSaid = now
        return .down(reason: why)
    }

    mutating func connected(now: Double) -> Line? {
        guard let since = downSince else { return nil }
        downSince = nil
        return .back(afterSeconds: Int(now - since))
    }

    /// The reminder due at `now`, if one is.
    mutating func due(now: Double) -> Line? {
        guard let since = downSince, now - lastSaid >= every else { return nil }
        lastSaid = now
        return .stillDown(reason: reason, seconds: Int(now - since))
    }
}
