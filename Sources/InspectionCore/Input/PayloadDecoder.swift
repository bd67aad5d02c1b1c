/// Payload formats accepted on MQTT (SPEC §3.1).
public enum PayloadFormat: String, Sendable, CaseIterable {
    case native, owntracks, jt808

    /// The topic filter a subscription of this format uses unless configured otherwise.
    public var defaultFilter: String {
        switch self {
        case .native: return "vehicles/+/position"
        case .owntracks: return "owntracks/+/+"
        case .jt808: return "jt808/+/+/up"
        }
    }
}

/// A decoded message: a position, or a valid message that carries none (an OwnTracks
/// transition, a JT/T 808 heartbeat) and is skipped without counting as bad input.
public enum DecodedMessage: Sendable, Equatable {
    case position(NativePayload)
    /// A batch of positions in one message (JT/T 808 0x0704): each item accepted or rejected alone.
    case positions([Result<NativePayload, PayloadError>])
    case ignored(String)

    /// The vehicle id the message names (a batch's items are one terminal's), if any.
    var vehicleId: [UInt8]? {
        switch self {
        case .position(let p): return p.vehicle
        case .positions(let items):
            for case .success(let p) in items { return p.vehicle }
            return nil
        case .ignored: return nil
        }
    }

    /// The message's positions, each decoded or rejected on its own.
    public var items: [Result<NativePayload, PayloadError>] {
        switch self {
        case .position(let p): return [.success(p)]
        case .positions(let items): return items
        case .ignored: return []
        }
    }
}

extension NativePayload: Equatable {
    public static func == (a: NativePayload, b: NativePayload) -> Bool {
        a.vehicle == b.vehicle && a.ts == b.ts && a.lat == b.lat && a.lon == b.lon
            && (a.speedKmh == b.speedKmh || (a.speedKmh.isNaN && b.speedKmh.isNaN))
            && (a.heading == b.heading || (a.heading.isNaN && b.heading.isNaN))
            && (a.accuracyM == b.accuracyM || (a.accuracyM.isNaN && b.accuracyM.isNaN))
    }
}

public enum PayloadDecoder {
    /// Payloads above this are rejected unread (SPEC §3.3).
    public static let maxPayloadBytes = 64 * 1024

    /// Decodes one message. `topicVehicle` is the vehicle id the topic names (the level under the
    /// subscription's wildcard), used where the format takes it from the topic.
    public static func decode(_ format: PayloadFormat, payload b: UnsafeBufferPointer<UInt8>,
                              topicVehicle: [UInt8]) -> Result<DecodedMessage, PayloadError> {
        guard b.count <= maxPayloadBytes else {
            return .failure(PayloadError(.tooLarge, "payload of \(b.count) bytes is over \(maxPayloadBytes)"))
        }
        let decoded: Result<DecodedMessage, PayloadError>
        switch format {
        case .native:
            switch NativePayload.parse(b) {
            case .failure(let e): return .failure(e)
            case .success(var p):
                if p.vehicle.isEmpty { p.vehicle = topicVehicle }
                guard !p.vehicle.isEmpty else { return .failure(PayloadError(.missingField, "no vehicle in payload or topic")) }
                decoded = .success(.position(p))
            }
        case .owntracks: decoded = ownTracks(b, vehicle: topicVehicle)
        case .jt808: decoded = jt808(b)
        }
        // The id, wherever it came from (payload, topic, terminal number), checked once here.
        if case .success(let m) = decoded, let id = m.vehicleId, let problem = VehicleIdCheck.problem(id) {
            return .failure(PayloadError(.badVehicleId, problem))
        }
        return decoded
    }

    /// OwnTracks location JSON: `_type` location, `lat`, `lon`, `tst`, optional `vel` (km/h), `cog`, `acc`.
    static func ownTracks(_ b: UnsafeBufferPointer<UInt8>, vehicle: [UInt8]) -> Result<DecodedMessage, PayloadError> {
        var sc = JSONScanner(b)
        var type: String?
        var lat: Double?, lon: Double?, tst: Millis?
        var vel: Float = .nan, cog: Float = .nan, acc: Float = .nan
        var problem: PayloadError?
        let ok = sc.members { ks, ke, _, v in
            guard problem == nil else { return }
            func number(_ name: String) -> Double? {
                guard case .number(let s, let e) = v, let d = NumberParsing.double(b, s, e) else {
                    if case .null = v { return nil }
                    problem = PayloadError(.wrongType, "\(name) must be a number")
                    return nil
                }
                return d
            }
            if JSONScanner.keyIs(b, ks, ke, "_type") {
                guard case .string(let s, let e, _) = v else { problem = PayloadError(.wrongType, "_type must be a string"); return }
                type = String(decoding: UnsafeBufferPointer(rebasing: b[s..<e]), as: UTF8.self)
            } else if JSONScanner.keyIs(b, ks, ke, "lat") { lat = number("lat")
            } else if JSONScanner.keyIs(b, ks, ke, "lon") { lon = number("lon")
            } else if JSONScanner.keyIs(b, ks, ke, "tst") {
                if let d = number("tst") {
                    guard let t = NumberParsing.epochMillis(d) else { problem = PayloadError(.wrongType, "tst is not a valid Unix time"); return }
                    tst = t
                }
            } else if JSONScanner.keyIs(b, ks, ke, "vel") { vel = number("vel").map(Float.init) ?? .nan
            } else if JSONScanner.keyIs(b, ks, ke, "cog") { cog = number("cog").map(Float.init) ?? .nan
            } else if JSONScanner.keyIs(b, ks, ke, "acc") { acc = number("acc").map(Float.init) ?? .nan
            }
        }
        if let problem { return .failure(problem) }
        guard ok else { return .failure(PayloadError(.unparsable, "not a JSON object")) }
        guard let type else { return .failure(PayloadError(.missingField, "_type is missing")) }
        guard type == "location" else { return .success(.ignored("OwnTracks _type \(type)")) }
        guard let tst else { return .failure(PayloadError(.missingField, "tst is missing")) }
        guard let lat else { return .failure(PayloadError(.missingField, "lat is missing")) }
        guard let lon else { return .failure(PayloadError(.missingField, "lon is missing")) }
        guard !vehicle.isEmpty else { return .failure(PayloadError(.missingField, "no device level in the topic")) }
        return .success(.position(NativePayload(vehicle: vehicle, ts: tst, lat: lat, lon: lon, speedKmh: vel, heading: cog, accuracyM: acc)))
    }

    /// JT/T 808 message ids that carry positions.
    static let jt808Location = 0x0200, jt808Batch = 0x0704
    /// Items a 0x0704 batch may carry (its count is a WORD; terminals send at most a few dozen).
    public static let maxBatchItems = 1000

    /// The JSON EMQX's JT/T 808 gateway publishes: message 0x0200 (location report) carries a
    /// position; 0x0704 (batch upload, `type` 0 normal, 1 blind-zone re-report) a list of 0x0200
    /// bodies, each a position of the header's terminal, rejected alone when it is bad.
    static func jt808(_ b: UnsafeBufferPointer<UInt8>) -> Result<DecodedMessage, PayloadError> {
        var sc = JSONScanner(b)
        var header: (Int, Int)?, body: (Int, Int)?
        var problem: PayloadError?
        let ok = sc.members { ks, ke, _, v in
            if JSONScanner.keyIs(b, ks, ke, "header") || JSONScanner.keyIs(b, ks, ke, "body") {
                guard case .object(let s, let e) = v else {
                    problem = problem ?? PayloadError(.wrongType, "header and body must be objects")
                    return
                }
                if JSONScanner.keyIs(b, ks, ke, "header") { header = (s, e) } else { body = (s, e) }
            }
        }
        if let problem { return .failure(problem) }
        guard ok else { return .failure(PayloadError(.unparsable, "not a JSON object")) }
        guard let header else { return .failure(PayloadError(.missingField, "header is missing")) }
        var msgId: Int?
        var phone: [UInt8] = []
        var hs = JSONScanner(b, start: header.0, end: header.1)
        _ = hs.members { ks, ke, _, v in
            if JSONScanner.keyIs(b, ks, ke, "msg_id"), case .number(let s, let e) = v {
                msgId = NumberParsing.double(b, s, e).flatMap(NumberParsing.wholeNumber).map { Int($0) }
            } else if JSONScanner.keyIs(b, ks, ke, "phone") {
                switch v {
                case .string(let s, let e, _), .number(let s, let e): phone = Array(b[s..<e])
                default: break
                }
            }
        }
        guard let msgId else { return .failure(PayloadError(.missingField, "header.msg_id is missing")) }
        guard msgId == jt808Location || msgId == jt808Batch else { return .success(.ignored("JT/T 808 message \(msgId)")) }
        guard !phone.isEmpty else { return .failure(PayloadError(.missingField, "header.phone is missing")) }
        guard let body else { return .failure(PayloadError(.missingField, "body is missing")) }
        if msgId == jt808Location {
            return jt808Location(b, body.0, body.1, phone: phone, field: "body").map(DecodedMessage.position)
        }
        return jt808Batch(b, body.0, body.1, phone: phone)
    }

    /// A 0x0704 body: `type`, `length`, `location` (the 0x0200 bodies).
    static func jt808Batch(_ b: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, phone: [UInt8]) -> Result<DecodedMessage, PayloadError> {
        var type: Int?, length: Int?, list: (Int, Int)?
        var problem: PayloadError?
        var bs = JSONScanner(b, start: start, end: end)
        _ = bs.members { ks, ke, _, v in
            if JSONScanner.keyIs(b, ks, ke, "type") || JSONScanner.keyIs(b, ks, ke, "length") {
                let name = JSONScanner.keyIs(b, ks, ke, "type") ? "type" : "length"
                guard case .number(let s, let e) = v, let n = NumberParsing.double(b, s, e).flatMap(NumberParsing.wholeNumber) else {
                    problem = problem ?? PayloadError(.wrongType, "body.\(name) must be a whole number")
                    return
                }
                if name == "type" { type = Int(n) } else { length = Int(n) }
            } else if JSONScanner.keyIs(b, ks, ke, "location") {
                guard case .array(let s, let e) = v else { problem = problem ?? PayloadError(.wrongType, "body.location must be a list"); return }
                list = (s, e)
            }
        }
        if let problem { return .failure(problem) }
        guard let type else { return .failure(PayloadError(.missingField, "body.type is missing")) }
        guard type == 0 || type == 1 else { return .failure(PayloadError(.wrongType, "body.type must be 0 (normal) or 1 (blind-zone re-report), not \(type)")) }
        guard let list else { return .failure(PayloadError(.missingField, "body.location is missing")) }
        var items: [Result<NativePayload, PayloadError>] = []
        var ls = JSONScanner(b, start: list.0, end: list.1)
        let whole = ls.elements { v in
            guard items.count < maxBatchItems else { return }
            let field = "body.location[\(items.count)]"
            guard case .object(let s, let e) = v else { items.append(.failure(PayloadError(.wrongType, "\(field) must be an object"))); return }
            items.append(jt808Location(b, s, e, phone: phone, field: field))
        }
        guard whole else { return .failure(PayloadError(.unparsable, "body.location is not a JSON list")) }
        guard items.count < maxBatchItems else { return .failure(PayloadError(.tooLarge, "body.location has over \(maxBatchItems) items")) }
        if let length, length != items.count {
            return .failure(PayloadError(.wrongType, "body.length says \(length) items, body.location has \(items.count)"))
        }
        return .success(.positions(items))
    }

    /// A 0x0200 body (a location report) at `start..<end`; `field` names it in errors.
    static func jt808Location(_ b: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, phone: [UInt8], field: String)
        -> Result<NativePayload, PayloadError> {
        var lat: Double?, lon: Double?, time: Millis?, status: UInt32?
        var speed: Float = .nan, direction: Float = .nan
        var bodyProblem: PayloadError?
        var bs = JSONScanner(b, start: start, end: end)
        let whole = bs.members { ks, ke, _, v in
            func number(_ name: String) -> Double? {
                guard case .number(let s, let e) = v, let d = NumberParsing.double(b, s, e) else {
                    bodyProblem = bodyProblem ?? PayloadError(.wrongType, "\(field).\(name) must be a number")
                    return nil
                }
                return d
            }
            if JSONScanner.keyIs(b, ks, ke, "latitude") { lat = number("latitude").map { $0 / 1e6 }
            } else if JSONScanner.keyIs(b, ks, ke, "longitude") { lon = number("longitude").map { $0 / 1e6 }
            } else if JSONScanner.keyIs(b, ks, ke, "speed") { speed = number("speed").map { Float($0 / 10) } ?? .nan
            } else if JSONScanner.keyIs(b, ks, ke, "direction") { direction = number("direction").map(Float.init) ?? .nan
            } else if JSONScanner.keyIs(b, ks, ke, "status") { status = number("status").flatMap(NumberParsing.wholeNumber).map { UInt32(truncatingIfNeeded: $0) }
            } else if JSONScanner.keyIs(b, ks, ke, "time") {
                guard case .string(let s, let e, _) = v, let t = bcdTime(UnsafeBufferPointer(rebasing: b[s..<e])) else {
                    bodyProblem = bodyProblem ?? PayloadError(.wrongType, "\(field).time must be YYMMDDhhmmss")
                    return
                }
                time = t
            }
        }
        if let bodyProblem { return .failure(bodyProblem) }
        guard whole else { return .failure(PayloadError(.unparsable, "\(field) is not a JSON object")) }
        guard var lat, var lon else { return .failure(PayloadError(.missingField, "\(field).latitude/longitude is missing")) }
        guard let time else { return .failure(PayloadError(.missingField, "\(field).time is missing")) }
        guard let status else { return .failure(PayloadError(.missingField, "\(field).status is missing")) }
        guard status & 0b10 != 0 else { return .failure(PayloadError(.invalidFix, "\(field).status says the fix is not valid")) }
        if status & 0b100 != 0 { lat = -lat }
        if status & 0b1000 != 0 { lon = -lon }
        return .success(NativePayload(vehicle: phone, ts: time, lat: lat, lon: lon, speedKmh: speed, heading: direction))
    }

    /// `YYMMDDhhmmss` in UTC+8 (JT/T 808 BCD time), years 2000–2099.
    static func bcdTime(_ t: UnsafeBufferPointer<UInt8>) -> Millis? {
        guard t.count == 12, t.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        func two(_ i: Int) -> Int { Int(t[i] - 48) * 10 + Int(t[i + 1] - 48) }
        let y = 2000 + two(0), mo = two(2), d = two(4), h = two(6), mi = two(8), s = two(10)
        guard (1...12).contains(mo), d >= 1, d <= Timestamp.daysIn(month: mo, year: y), h < 24, mi < 60, s < 60 else { return nil }
        let days = Timestamp.daysFromCivil(year: y, month: mo, day: d)
        return Millis(days * 86_400 + h * 3600 + mi * 60 + s - 8 * 3600) * 1000
    }
}

/// Which topic level names the vehicle: the one under a subscription filter's first `+`.
public struct TopicVehicle: Sendable {
    let level: Int?

    public init(filter: String) {
        level = filter.split(separator: "/", omittingEmptySubsequences: false).firstIndex(of: "+")
    }

    /// The vehicle id bytes in `topic`: the wildcard's level, or the last level (OwnTracks' device).
    /// A scan of the topic's bytes (once per message: no substrings).
    public func vehicle(in topic: String, format: PayloadFormat) -> [UInt8] {
        var topic = topic
        return topic.withUTF8 { b in
            let slash = UInt8(ascii: "/")
            if format == .owntracks {
                let start = (b.lastIndex(of: slash) ?? -1) + 1
                return Array(b[start...])
            }
            guard let level else { return [] }
            var start = 0, n = 0
            while n < level {
                guard let s = b[start...].firstIndex(of: slash) else { return [] }
                start = s + 1
                n += 1
            }
            let end = b[start...].firstIndex(of: slash) ?? b.count
            return Array(b[start..<end])
        }
    }
}
