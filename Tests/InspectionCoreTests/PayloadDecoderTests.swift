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
