import Foundation
import InspectionCore
import Testing

/// SPEC §3.1: the three payload formats, and §3.3 for what is wrong with them.
@Suite struct PayloadDecoderTests {
    func decode(_ format: PayloadFormat, _ text: String, topic: String = "") -> Result<DecodedMessage, PayloadError> {
        let filter = format.defaultFilter
        let vehicle = TopicVehicle(filter: filter).vehicle(in: topic, format: format)
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBufferPointer { PayloadDecoder.decode(format, payload: $0, topicVehicle: vehicle) }
    }

    func position(_ r: Result<DecodedMessage, PayloadError>) -> NativePayload? {
        if case .success(.position(let p)) = r { return p }
        return nil
    }

    func reason(_ r: Result<DecodedMessage, PayloadError>) -> RejectReason? {
        if case .failure(let e) = r { return e.reason }
        return nil
    }

    /// Issue 28: a vehicle id over 64 bytes, with a control character (a NUL truncated it in
    /// SQLite) or not UTF-8 is `bad_vehicle_id`, wherever it comes from; 64 bytes of UTF-8 pass.
    @Test func badVehicleIdsAreRejectedOnEveryPath() throws {
        let p = #""ts": 1750123456, "lat": 30.17, "lon": 121.26"#
        #expect(reason(decode(.native, #"{"vehicle": "probe\u0000-1", \#(p)}"#)) == .badVehicleId)
        #expect(reason(decode(.native, #"{"vehicle": "tab\there", \#(p)}"#)) == .badVehicleId)
        #expect(reason(decode(.native, "{\"vehicle\": \"\(String(repeating: "x", count: 65))\", \(p)}")) == .badVehicleId)
        #expect(position(decode(.native, "{\"vehicle\": \"\(String(repeating: "浙", count: 21))\", \(p)}")) != nil)  // 63 bytes
        // From the topic: a level with a control character (OwnTracks' device, native's wildcard).
        #expect(reason(decode(.owntracks, #"{"_type": "location", "lat": 30.17, "lon": 121.26, "tst": 1750123456}"#,
                              topic: "owntracks/u/dev\u{7f}")) == .badVehicleId)
        #expect(reason(decode(.native, "{\(p)}", topic: "vehicles/\(String(repeating: "y", count: 70))/position")) == .badVehicleId)
        // Bytes that are not UTF-8.
        #expect(VehicleIdCheck.problem(Array("V".utf8) + [0xff, 0xfe]) == "vehicle id is not UTF-8")
        #expect(VehicleIdCheck.problem(Array("沪A·12345".utf8)) == nil)
        // Trace files: the line is skipped and counted under the same reason.
        var batch = TraceBatch()
        let csv = Array("vehicle_id,ts,lat,lon\nV1,1750123456,30.17,121.26\n\(String(repeating: "z", count: 80)),1750123457,30.17,121.26\n".utf8)
        try csv.withUnsafeBufferPointer { try TraceParser.parse($0, format: .csv, file: "t.csv", into: &batch) }
        #expect(batch.positions.count == 1 && batch.skipped[.badVehicleId] == 1)
    }

    /// A checkpoint's counts from before `bad_vehicle_id` existed (11 of them) decode, the new one 0.
    @Test func countsFromBeforeANewReasonDecode() throws {
        let old = try JSONDecoder().decode(RejectCounts.self, from: Data(#"{"counts":[1,2,3,4,5,6,7,8,9,10,11]}"#.utf8))
        #expect(old[.unparsable] == 1 && old[.outlier] == 11 && old[.badVehicleId] == 0 && old.total == 66)
    }

    @Test func nativeTakesTheVehicleFromThePayloadElseTheTopic() throws {
        let full = try #require(position(decode(.native, #"{"vehicle": "沪A1", "ts": "2025-06-17T09:30:00+08:00", "lat": 30.17, "lon": 121.26, "speed": 12.5, "heading": 270, "acc": 8}"#, topic: "vehicles/other/position")))
        #expect(String(decoding: full.vehicle, as: UTF8.self) == "沪A1")
        #expect(full.ts == 1_750_123_800_000 && full.speedKmh == 12.5 && full.heading == 270 && full.accuracyM == 8)
        let fromTopic = try #require(position(decode(.native, #"{"ts": 1750123456, "lat": 30.17, "lon": 121.26}"#, topic: "vehicles/amr-7/position")))
        #expect(fromTopic.vehicle == Array("amr-7".utf8))
        #expect(reason(decode(.native, #"{"ts": 1750123456, "lat": 30.17, "lon": 121.26}"#, topic: "")) == .missingField)
    }

    @Test func ownTracksLocationsAndOtherTypes() throws {
        let p = try #require(position(decode(.owntracks, #"{"_type":"location","tid":"ab","lat":30.17,"lon":121.26,"tst":1750123456,"vel":36,"cog":90,"acc":12,"batt":80}"#,
                                             topic: "owntracks/amr/amr-3")))
        #expect(p.vehicle == Array("amr-3".utf8))
        #expect(p.ts == 1_750_123_456_000 && p.lat == 30.17 && p.lon == 121.26 && p.speedKmh == 36 && p.heading == 90 && p.accuracyM == 12)
        #expect(decode(.owntracks, #"{"_type":"transition","event":"enter","tst":1750123456}"#, topic: "owntracks/a/b") == .success(.ignored("OwnTracks _type transition")))
        #expect(reason(decode(.owntracks, #"{"_type":"location","lat":30.17,"lon":121.26}"#, topic: "owntracks/a/b")) == .missingField)
        #expect(reason(decode(.owntracks, #"{"_type":"location","lat":"30.17","lon":121.26,"tst":1}"#, topic: "owntracks/a/b")) == .wrongType)
    }

    static func jt808(msgId: Int = 512, status: Int = 2, lat: Int = 30_170_000, lon: Int = 121_260_000, time: String = "250617093000") -> String {
        #"{"header":{"msg_id":\#(msgId),"encrypt":0,"len":28,"phone":"013900000001","msg_sn":7},"body":{"alarm":0,"status":\#(status),"latitude":\#(lat),"longitude":\#(lon),"altitude":12,"speed":365,"direction":270,"time":"\#(time)","extra":{"mileage":1234}}}"#
    }

    @Test func jt808LocationReports() throws {
        let p = try #require(position(decode(.jt808, Self.jt808(), topic: "jt808/c1/013900000001/up")))
        #expect(p.vehicle == Array("013900000001".utf8))
        #expect(p.ts == 1_750_123_800_000)  // 2025-06-17 09:30:00 UTC+8
        #expect(p.lat == 30.17 && p.lon == 121.26 && p.speedKmh == 36.5 && p.heading == 270)
        let southWest = try #require(position(decode(.jt808, Self.jt808(status: 2 | 4 | 8))))
        #expect(southWest.lat == -30.17 && southWest.lon == -121.26)
    }

    @Test func jt808WithoutAValidFixOrMalformedIsRejected() {
        #expect(reason(decode(.jt808, Self.jt808(status: 0))) == .invalidFix)
        #expect(reason(decode(.jt808, Self.jt808(time: "251317093000"))) == .wrongType)
        #expect(reason(decode(.jt808, #"{"header":{"msg_id":512,"phone":"1"}}"#)) == .missingField)
        #expect(reason(decode(.jt808, #"{"header":[1],"body":{}}"#)) == .wrongType)
        #expect(decode(.jt808, Self.jt808(msgId: 2)) == .success(.ignored("JT/T 808 message 2")))
    }

    /// A 0x0704 batch whose `location` items are the given 0x0200 bodies (as JSON text).
    static func jt808Batch(type: Int = 1, length: Int? = nil, items: [String]) -> String {
        #"{"header":{"msg_id":1796,"encrypt":0,"phone":"013900000001","msg_sn":9},"body":{"type":\#(type),"length":\#(length ?? items.count),"location":[\#(items.joined(separator: ","))]}}"#
    }

    static func jt808Body(status: Int = 2, lat: Int = 30_170_000, time: String = "250617093000") -> String {
        #"{"alarm":0,"status":\#(status),"latitude":\#(lat),"longitude":121260000,"altitude":3,"speed":0,"direction":0,"time":"\#(time)"}"#
    }

    @Test func jt808BlindZoneBatchesCarryEachItemAsAPositionOfTheTerminal() throws {
        let r = decode(.jt808, Self.jt808Batch(items: [Self.jt808Body(time: "250617090000"), Self.jt808Body(time: "250617090015")]))
        guard case .success(.positions(let items)) = r else { Issue.record("not a batch: \(r)"); return }
        let ps = try items.map { try $0.get() }
        #expect(ps.map(\.ts) == [1_750_122_000_000, 1_750_122_015_000])
        #expect(ps.allSatisfy { $0.vehicle == Array("013900000001".utf8) && $0.lat == 30.17 && $0.lon == 121.26 })
        // Type 0 (a batch of normal reports) is read the same way; an empty batch is no error.
        #expect(decode(.jt808, Self.jt808Batch(type: 0, items: [Self.jt808Body()])) == .success(.positions([.success(ps[0]).map { p in
            var q = p; q.ts = 1_750_123_800_000; return q }])))
        #expect(decode(.jt808, Self.jt808Batch(items: [])) == .success(.positions([])))
    }

    @Test func aBadItemOfABatchIsRejectedAloneTheOthersStand() throws {
        let r = decode(.jt808, Self.jt808Batch(items: [Self.jt808Body(), Self.jt808Body(status: 0), "[1]",
                                                       Self.jt808Body(time: "25061709"), Self.jt808Body(lat: 30_180_000)]))
        guard case .success(.positions(let items)) = r else { Issue.record("not a batch: \(r)"); return }
        #expect(items.count == 5)
        #expect(try items[0].get().lat == 30.17 && (try items[4].get().lat) == 30.18)
        let errors = items.compactMap { item -> PayloadError? in if case .failure(let e) = item { return e }; return nil }
        #expect(errors.map(\.reason) == [.invalidFix, .wrongType, .wrongType])
        #expect(errors.map { $0.message.hasPrefix("body.location[") } == [true, true, true])
        #expect(errors[0].message.hasPrefix("body.location[1]"))
    }

    @Test func aBatchWhoseFramingIsWrongIsRejectedWhole() {
        #expect(reason(decode(.jt808, Self.jt808Batch(type: 2, items: [Self.jt808Body()]))) == .wrongType)
        #expect(reason(decode(.jt808, Self.jt808Batch(length: 3, items: [Self.jt808Body()]))) == .wrongType)
        #expect(reason(decode(.jt808, #"{"header":{"msg_id":1796,"phone":"1"},"body":{"type":1,"length":1}}"#)) == .missingField)
        #expect(reason(decode(.jt808, #"{"header":{"msg_id":1796,"phone":"1"},"body":{"type":1,"length":1,"location":{}}}"#)) == .wrongType)
        #expect(reason(decode(.jt808, #"{"header":{"msg_id":1796,"phone":"1"},"body":{"type":1,"location":[{}, ]}}"#)) == .unparsable)
        let many = Self.jt808Batch(items: Array(repeating: "{}", count: PayloadDecoder.maxBatchItems + 1))
        #expect(reason(decode(.jt808, many)) == .tooLarge)
    }

    @Test func theEncodersBatchReadsBackAsItsFixes() throws {
        var topic: [UInt8] = [], payload: [UInt8] = []
        let fixes: [(ts: Millis, lat: Double, lon: Double, speedKmh: Float)] = [
            (1_750_122_000_000, 30.123456, 121.654321, 12.5), (1_750_122_015_000, -30.5, -121.25, .nan)]
        PayloadEncoder.encodeJT808Batch(vehicle: "013900000002", fixes: fixes, topic: &topic, payload: &payload)
        #expect(String(decoding: topic, as: UTF8.self) == "jt808/iw/013900000002/up")
        let r = decode(.jt808, String(decoding: payload, as: UTF8.self))
        guard case .success(.positions(let items)) = r else { Issue.record("not a batch: \(r)"); return }
        let ps = try items.map { try $0.get() }
        #expect(ps.map(\.ts) == fixes.map(\.ts) && ps.map(\.lat) == fixes.map(\.lat) && ps.map(\.lon) == fixes.map(\.lon))
        #expect(ps[0].speedKmh == 12.5 && ps[1].speedKmh == 0)
    }

    @Test(arguments: PayloadFormat.allCases)
    func garbageAndOversizedPayloadsAreRejected(format: PayloadFormat) {
        #expect(reason(decode(format, "")) == .unparsable)
        #expect(reason(decode(format, "\u{0}\u{1}binary")) == .unparsable)
        #expect(reason(decode(format, "{\"lat\": 1,")) == .unparsable)
        #expect(reason(decode(format, "[1,2,3]")) == .unparsable)
        let big = "{\"pad\":\"" + String(repeating: "x", count: 70_000) + "\"}"
        #expect(reason(decode(format, big)) == .tooLarge)
    }

    @Test func deeplyNestedJunkDoesNotCrash() {
        let deep = "{\"a\":" + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "}"
        #expect(reason(decode(.native, String(deep.prefix(60_000)))) == .unparsable)
    }

    @Test func absurdNumbersAreRejectedNotTrapped() {
        #expect(reason(decode(.native, #"{"vehicle":"v","ts":1e300,"lat":30.1,"lon":121.2}"#)) == .wrongType)
        #expect(reason(decode(.native, #"{"vehicle":"v","ts":-5,"lat":30.1,"lon":121.2}"#)) == .wrongType)
        #expect(reason(decode(.native, #"{"vehicle":"v","ts":1750123456,"lat":1e400,"lon":121.2}"#)) == nil)  // parses; the range check rejects it
        #expect(reason(decode(.owntracks, #"{"_type":"location","lat":30.1,"lon":121.2,"tst":9e99}"#, topic: "owntracks/a/b")) == .wrongType)
        #expect(reason(decode(.jt808, #"{"header":{"msg_id":1e300,"phone":"1"},"body":{}}"#)) == .missingField)
        let hugeStatus = Self.jt808().replacingOccurrences(of: #""status":2"#, with: #""status":1e300"#)
        #expect(reason(decode(.jt808, hugeStatus)) == .missingField)
    }
}
