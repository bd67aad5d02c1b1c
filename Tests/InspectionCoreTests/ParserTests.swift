import InspectionCore
import Testing

@Suite struct TimestampTests {
    @Test func rfc3339WithOffsetZAndFraction() {
        #expect(Timestamp.parseRFC3339("2025-06-17T09:30:00+08:00") == 1_750_123_800_000)
        #expect(Timestamp.parseRFC3339("2025-06-17T01:30:00Z") == 1_750_123_800_000)
        #expect(Timestamp.parseRFC3339("2025-06-17 01:30:00.25z") == 1_750_123_800_250)
        #expect(Timestamp.parseRFC3339("2025-06-16T20:30:00-05:00") == 1_750_123_800_000)
    }

    @Test(arguments: ["2025-06-17T09:30:00", "2025-13-01T00:00:00Z", "2025-02-29T00:00:00Z", "2025-06-17T24:00:00Z",
                      "2025-06-17", "yesterday", "2025-06-17T09:30:00+0800", "2025-06-17T09:30:00Zjunk"])
    func malformedTimesAreRejected(text: String) {
        #expect(Timestamp.parseRFC3339(text) == nil)
    }

    @Test func formatsUTCWithMillisecondsOnlyWhenPresent() {
        #expect(Timestamp.formatUTC(1_750_123_800_000) == "2025-06-17T01:30:00Z")
        #expect(Timestamp.formatUTC(1_750_123_800_007) == "2025-06-17T01:30:00.007Z")
        #expect(Timestamp.formatUTC(-1000) == "1969-12-31T23:59:59Z")
    }

    @Test func localDaysAndYearsFollowTheTimeZone() {
        let cal = LocalCalendar.shanghai
        let newYearsEveLate = Timestamp.parseRFC3339("2025-12-31T16:30:00Z")!  // 00:30 on 1 January in Shanghai
        #expect(cal.year(of: newYearsEveLate) == 2026)
        #expect(Timestamp.formatDay(cal.day(of: newYearsEveLate)) == "2026-01-01")
        #expect(cal.startOfDay(Timestamp.parseDay("2026-01-01")!) == Timestamp.parseRFC3339("2025-12-31T16:00:00Z"))
    }
}

@Suite struct TraceParserTests {
    func parse(_ text: String, format: TraceFormat) throws(TraceFileError) -> ([Position], [TraceLineError], ByteInterner) {
        var batch = TraceBatch()
        let bytes = Array(text.utf8)
        var failure: TraceFileError?
        bytes.withUnsafeBufferPointer { b in
            do throws(TraceFileError) { try TraceParser.parse(b, format: format, into: &batch) } catch { failure = error }
        }
        if let failure { throw failure }
        return (batch.positions, batch.firstSkipped.map(\.error), batch.vehicles)
    }

    @Test func csvWithOptionalColumnsQuotesAndMixedTimes() throws {
        let text = "\u{FEFF}vehicle_id,ts,lat,lon,speed_kmh,heading,accuracy_m\r\n"
            + "v1,1750123456,30.17,121.26,12.5,270,8\r\n"
            + "\"v,2\",2025-06-17T09:30:00+08:00,30.18,121.27,,,\r\n"
            + "v1,1750123457.25,30.17,121.26\n"
        let (ps, errs, ids) = try parse(text, format: .csv)
        #expect(errs.isEmpty)
        #expect(ps.count == 3)
        #expect(ps[0].ts == 1_750_123_456_000 && ps[0].speedKmh == 12.5 && ps[0].heading == 270 && ps[0].accuracyM == 8)
        #expect(ids.string(ps[1].vehicle) == "v,2")
        #expect(ps[1].ts == 1_750_123_800_000 && ps[1].speedKmh.isNaN)
        #expect(ps[2].ts == 1_750_123_457_250 && ps[2].vehicle == ps[0].vehicle)
    }

    @Test func malformedCsvLinesAreReportedAndSkipped() throws {
        let text = "vehicle_id,ts,lat,lon\nv1,1750123456,30.17,121.26\nv1,yesterday,30.17,121.26\nv1,1750123458,north,121.26\n"
            + "v1,1750123459\n,1750123460,30.1,121.2\nv1,1750123461,30.17,121.26\n"
        let (ps, errs, _) = try parse(text, format: .csv)
        #expect(ps.count == 2)
        #expect(errs.map(\.line) == [3, 4, 5, 6])
        #expect(errs.map(\.reason) == [.wrongType, .wrongType, .missingField, .missingField])
    }

    @Test func aCsvWithoutRequiredColumnsIsAFileError() {
        #expect(throws: TraceFileError.self) { try parse("vehicle,time,lat,lon\nv1,1,2,3\n", format: .csv) }
    }

    @Test func ndjsonNativeLines() throws {
        let text = """
        {"vehicle": "v1", "ts": 1750123456, "lat": 30.17, "lon": 121.26, "speed": 12.5, "heading": 270, "acc": 8}
        {"vehicle":"v\\u00e9","ts":"2025-06-17T09:30:00+08:00","lat":30.18,"lon":121.27,"extra":{"a":[1,2,"}"]}}

        {"vehicle": "v1", "ts": 1750123456000, "lat": 30.17, "lon": 121.26}
        {"vehicle": "v1", "lat": 30.17, "lon": 121.26}
        {"vehicle": "v1", "ts": 1750123456, "lat": "30.17", "lon": 121.26}
        {"vehicle": "v1", "ts": 1750123456, "lat": 30.17, "lon": 121.26
        {"ts": 1750123456, "lat": 30.17, "lon": 121.26}
        """
        let (ps, errs, ids) = try parse(text, format: .ndjson)
        #expect(ps.count == 3)
        #expect(ids.string(ps[1].vehicle) == "vé")
        #expect(ps[1].ts == 1_750_123_800_000)
        #expect(ps[2].ts == 1_750_123_456_000)  // milliseconds recognised
        #expect(errs.map(\.line) == [5, 6, 7, 8])
        #expect(errs.map(\.reason) == [.missingField, .wrongType, .unparsable, .missingField])
    }
}

@Suite struct NumberParsingTests {
    func double(_ s: String) -> Double? {
        let b = Array(s.utf8)
        return b.withUnsafeBufferPointer { NumberParsing.double($0, 0, b.count) }
    }

    @Test func decimalsParseExactly() {
        for s in ["30.17", "-8.661746", "121.2600001", "0", "+7", "1e-3", "123456789.123456789", " 60.164341 "] {
            #expect(double(s) == Double(s.trimmingCharacters(in: .whitespaces)), "\(s)")
        }
    }

    @Test func nonNumbersAreNil() {
        for s in ["", "-", ".", "north", "1.2.3", "0x10", "nan", "1e"] { #expect(double(s) == nil, "\(s)") }
    }
}
