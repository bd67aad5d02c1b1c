/// Positions as trackers publish them (SPEC §3.1): the topic and payload of each format, written
/// byte by byte (a publisher sends hundreds of thousands a second). The inverse of `PayloadDecoder`,
/// up to each format's precision: OwnTracks carries whole seconds, JT/T 808 1e-6 degrees,
/// whole seconds and 0.1 km/h.
public enum PayloadEncoder {
    /// Writes the topic into `topic` and the payload into `payload` (both emptied first).
    /// `speedKmh` NaN leaves speed out where the format allows.
    public static func encode(_ format: PayloadFormat, vehicle: String, ts: Millis, lat: Double, lon: Double,
                              speedKmh: Float = .nan, topic: inout [UInt8], payload: inout [UInt8]) {
        topic.removeAll(keepingCapacity: true)
        payload.removeAll(keepingCapacity: true)
        switch format {
        case .native:
            topic += "vehicles/".utf8; topic += vehicle.utf8; topic += "/position".utf8
            payload += #"{"vehicle":"#.utf8
            JSONValue.writeString(vehicle, to: &payload)
            payload += #","ts":"#.utf8
            // Whole seconds as seconds; anything finer as milliseconds (read back as such above 1e11).
            appendInt(ts % 1000 == 0 ? ts / 1000 : ts, to: &payload)
            payload += #","lat":"#.utf8; appendFixed(lat, digits: 7, to: &payload)
            payload += #","lon":"#.utf8; appendFixed(lon, digits: 7, to: &payload)
            if !speedKmh.isNaN { payload += #","speed":"#.utf8; appendFixed(Double(speedKmh), digits: 1, to: &payload) }
            payload.append(UInt8(ascii: "}"))
        case .owntracks:
            topic += "owntracks/iw/".utf8; topic += vehicle.utf8
            payload += #"{"_type":"location","lat":"#.utf8; appendFixed(lat, digits: 7, to: &payload)
            payload += #","lon":"#.utf8; appendFixed(lon, digits: 7, to: &payload)
            payload += #","tst":"#.utf8; appendInt(floorDiv(ts, 1000), to: &payload)
            if !speedKmh.isNaN { payload += #","vel":"#.utf8; appendInt(Int64(Double(speedKmh).rounded()), to: &payload) }
            payload += #","tid":"iw"}"#.utf8
        case .jt808:
            topic += "jt808/iw/".utf8; topic += vehicle.utf8; topic += "/up".utf8
            jt808Header(msgId: 0x0200, vehicle: vehicle, to: &payload)
            payload += #","body":"#.utf8
            jt808Location(ts: ts, lat: lat, lon: lon, speedKmh: speedKmh, to: &payload)
            payload.append(UInt8(ascii: "}"))
        }
    }

    /// A JT/T 808 0x0704 batch of `fixes` of one terminal (`type` 1: a blind-zone re-report), as
    /// EMQX's gateway publishes it; the topic is the one `encode` gives the terminal.
    public static func encodeJT808Batch(vehicle: String, fixes: [(ts: Millis, lat: Double, lon: Double, speedKmh: Float)],
                                        blindZone: Bool = true, topic: inout [UInt8], payload: inout [UInt8]) {
        topic.removeAll(keepingCapacity: true)
        payload.removeAll(keepingCapacity: true)
        topic += "jt808/iw/".utf8; topic += vehicle.utf8; topic += "/up".utf8
        jt808Header(msgId: 0x0704, vehicle: vehicle, to: &payload)
        payload += #","body":{"type":"#.utf8; appendInt(blindZone ? 1 : 0, to: &payload)
        payload += #","length":"#.utf8; appendInt(Int64(fixes.count), to: &payload)
        payload += #","location":["#.utf8
        for (i, f) in fixes.enumerated() {
            if i > 0 { payload.append(UInt8(ascii: ",")) }
            jt808Location(ts: f.ts, lat: f.lat, lon: f.lon, speedKmh: f.speedKmh, to: &payload)
        }
        payload += "]}}".utf8
    }

    /// `{"header":{…}` without its closing brace.
    static func jt808Header(msgId: Int, vehicle: String, to payload: inout [UInt8]) {
        payload += #"{"header":{"msg_id":"#.utf8; appendInt(Int64(msgId), to: &payload)
        payload += #","encrypt":0,"phone":"#.utf8
        JSONValue.writeString(vehicle, to: &payload)
        payload += #","msg_sn":1}"#.utf8
    }

    /// A 0x0200 body: 1e-6 degrees, 0.1 km/h, `YYMMDDhhmmss` in UTC+8.
    static func jt808Location(ts: Millis, lat: Double, lon: Double, speedKmh: Float, to payload: inout [UInt8]) {
        var status = 2  // bit 1: fix valid
        if lat < 0 { status |= 4 }
        if lon < 0 { status |= 8 }
        payload += #"{"alarm":0,"status":"#.utf8; appendInt(Int64(status), to: &payload)
        payload += #","latitude":"#.utf8; appendInt(Int64((abs(lat) * 1e6).rounded()), to: &payload)
        payload += #","longitude":"#.utf8; appendInt(Int64((abs(lon) * 1e6).rounded()), to: &payload)
        payload += #","altitude":0,"speed":"#.utf8
        appendInt(speedKmh.isNaN ? 0 : Int64((Double(speedKmh) * 10).rounded()), to: &payload)
        payload += #","direction":0,"time":""#.utf8
        let local = floorDiv(ts, 1000) + 8 * 3600
        let (y, mo, d) = Timestamp.civilFromDays(Int(floorDiv(local, 86_400)))
        let sod = Int(local - floorDiv(local, 86_400) * 86_400)
        for v in [y % 100, mo, d, sod / 3600, sod / 60 % 60, sod % 60] { appendTwoDigits(v, to: &payload) }
        payload += #""}"#.utf8
    }

    @inline(__always) static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 { a >= 0 ? a / b : (a - b + 1) / b }

    /// A decimal integer.
    public static func appendInt(_ v: Int64, to out: inout [UInt8]) {
        if v < 0 { out.append(UInt8(ascii: "-")) }
        var m = v.magnitude
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var n = 0
        withUnsafeMutableBytes(of: &digits) { d in
            repeat { d[n] = UInt8(m % 10) + 48; m /= 10; n += 1 } while m > 0
            while n > 0 { n -= 1; out.append(d[n]) }
        }
    }

    /// `v` rounded to `digits` decimals, trailing zeros kept (fixed width: byte-identical output).
    public static func appendFixed(_ v: Double, digits: Int, to out: inout [UInt8]) {
        var scale: Int64 = 1
        for _ in 0..<digits { scale *= 10 }
        let n = Int64((v * Double(scale)).rounded())
        if n < 0 { out.append(UInt8(ascii: "-")) }
        let m = Int64(n.magnitude)
        appendInt(m / scale, to: &out)
        guard digits > 0 else { return }
        out.append(UInt8(ascii: "."))
        var frac = m % scale
        var div = scale / 10
        while div > 0 { out.append(UInt8(frac / div) + 48); frac %= div; div /= 10 }
    }

    static func appendTwoDigits(_ v: Int, to out: inout [UInt8]) {
        out.append(UInt8(v / 10 % 10) + 48)
        out.append(UInt8(v % 10) + 48)
    }
}
