import InspectionCore

/// What `serve` needs beyond the engine: the broker, the subscriptions, the store, the outputs.
public struct DaemonSettings: Sendable, Equatable {
    public struct Subscription: Sendable, Equatable {
        public var filter: String
        /// The positions' payload format (ignored for scans).
        public var format: PayloadFormat
        /// Code scans (format `scan`, SPEC §3.5) rather than positions.
        public var scans: Bool
        public init(filter: String, format: PayloadFormat) { self.filter = filter; self.format = format; self.scans = false }
        /// A subscription to code scans (JSON, one scan a message).
        public static func scans(filter: String = "scans/+") -> Subscription {
            var s = Subscription(filter: filter, format: .native)
            s.scans = true
            return s
        }
    }

    public var host = "127.0.0.1"
    public var port = 1883
    public var clientId = "inspection-watch"
    public var username: String?
    public var password: String?
    public var caFile: String?
    public var certFile: String?
    public var keyFile: String?
    public var subscriptions: [Subscription] = [Subscription(filter: PayloadFormat.native.defaultFilter, format: .native), .scans()]
    /// Whether occasions are judged for `unscanned_visit` (SPEC §3.5): only where the office feeds
    /// scans. The scan subscription and the API take scans either way.
    public var scansJudged = false
    public var alertTopicPrefix = "alerts"
    public var publishVisits = false
    public var storePath = "/var/lib/inspection-watch/inspection-watch.sqlite"
    /// How often the engine's state is saved so the journal before it can go (milliseconds).
    public var checkpointInterval: Millis = 30_000
    /// Messages received and journaled but not yet processed that are also held in memory, at
    /// most; beyond that they wait in the journal only and are read back (the receiving thread
    /// never waits for the engine).
    public var queueCapacity = 200_000
    /// Where `/health` and `/metrics` (and the API) listen; port 0: no HTTP.
    public var httpHost = "127.0.0.1"
    public var httpPort = 8470
    /// A connection with no request in progress is closed after this long (milliseconds; a live
    /// stream is a request in progress, kept alive by its own comments).
    public var httpIdleTimeout: Millis = 60_000
    /// Connections served at once; more wait to be accepted (the unit's `LimitNOFILE` leaves room).
    public var httpMaxConnections = 1000
    /// Who may use the API (nobody when empty: every API call is 401).
    public var apiTokens: [APIToken] = []
    /// A base-map tile URL for the web page (`{z}/{x}/{y}`); none: the page draws on a plain ground.
    public var tileURL: String?
    /// Where Leaflet is (Debian's libjs-leaflet); the page loads nothing from the internet.
    public var leafletDir = "/usr/share/javascript/leaflet"
    /// `http.base_map`: a GeoJSON file of roads (or any lines and areas) the page draws under
    /// everything, for a government network with no tile server (nil: none).
    public var baseMap: String?

    public init() {}
}

/// A bearer token of the HTTP API and what it may do.
public struct APIToken: Sendable, Equatable {
    public enum Role: String, Sendable, CaseIterable {
        /// Everything: alerts, tasks of every agency, registry reload.
        case supervisor
        /// Bound to one agency: sees its own visits and alerts, registers and amends its own tasks.
        case agency
        /// Reads everything, changes nothing.
        case readonly
    }

    /// Recorded as the actor of every change made with it.
    public var name: String
    public var role: Role
    public var agencyId: String?
    public var token: String

    public init(name: String, role: Role, agencyId: String? = nil, token: String) {
        self.name = name; self.role = role; self.agencyId = agencyId; self.token = token
    }
}
