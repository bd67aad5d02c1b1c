@testable import InspectionCore
import Testing

/// The kept fixes' encoding (`FixCoder`): lossless for every coordinate a Double holds, compact for
/// what trackers send.
@Suite struct FixCoderTests {
    static func roundTrip(_ fixes: [Fix]) -> (back: [Fix], bytes: Int) {
        var bytes = FixCoder.Bytes()
        var state = FixCoder.State()
        for f in fixes { FixCoder.append(f, state: &state, to: &bytes) }
        var back: [Fix] = []
        FixCoder.decode(bytes, count: fixes.count, into: &back)
        return (back, bytes.storage.count)
    }

    @Test func whatGoesInComesOutBitForBit() {
        var rng = SplitMix64(seed: 7)
        var fixes: [Fix] = []
        var ts: Millis = 1_750_118_400_000
        for k in 0..<2000 {
            ts += k % 7 == 0 ? Millis(rng.next() % 90_000) + 1 : 15_000  // whole seconds mostly, milliseconds too
            let lat: Double, lon: Double
            switch k % 4 {
            case 0: lat = Double(Int64(rng.next() % 180_000_000)) / 1e6 - 90; lon = Double(Int64(rng.next() % 360_000_000)) / 1e6 - 180  // JT/T 808
            case 1: lat = Double(Int64(rng.next() % 1_800_000_000)) / 1e7 - 90; lon = 121.4567891  // seven decimals
            case 2: lat = Double(rng.next() >> 11) / Double(1 << 53) * 180 - 90; lon = -Double(rng.next() >> 11) / Double(1 << 53) * 180  // any Double
            default: lat = 30.123456; lon = 121.654321
            }
            fixes.append(Fix(ts: ts, lat: lat, lon: lon))
        }
        let (back, _) = Self.roundTrip(fixes)
        #expect(back.count == fixes.count)
        #expect(zip(back, fixes).allSatisfy { $0.ts == $1.ts && $0.lat.bitPattern == $1.lat.bitPattern && $0.lon.bitPattern == $1.lon.bitPattern })
    }

    @Test func aJT808VehicleEvery15sTakesAFewBytesAFix() {
        var fixes: [Fix] = []
        for k in 0..<128 {  // driving ~125 m every 15 s
            // as the decoder gives them: micro-degrees / 1e6
            fixes.append(Fix(ts: 1_750_118_400_000 + Millis(k) * 15_000, lat: Double(30_100_000 + k * 1125) / 1e6,
                             lon: Double(121_200_000 + k * 700) / 1e6))
        }
        let (back, bytes) = Self.roundTrip(fixes)
        #expect(back == fixes)
        #expect(bytes < 128 * 6)
    }
}
