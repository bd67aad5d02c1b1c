import Foundation

/// GCJ-02 (国测局, used by Amap and Tencent maps) and BD-09 (Baidu) to and from WGS-84.
/// The forward GCJ-02 transform is the published algorithm; its inverse is solved by fixed-point
/// iteration to below 1e-9° (0.1 mm), which the one-step inverse found in many libraries is not.
public enum ChinaCoordinates {
    private static let a = 6_378_245.0
    private static let ee = 0.006_693_421_622_965_943_23
    private static let xPi = Double.pi * 3000.0 / 180.0

    /// GCJ-02 leaves points outside mainland China unshifted.
    public static func isOutsideChina(_ p: LatLon) -> Bool {
        p.lon < 72.004 || p.lon > 137.8347 || p.lat < 0.8293 || p.lat > 55.8271
    }

    private static func transformLat(_ x: Double, _ y: Double) -> Double {
        var r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * abs(x).squareRoot()
        r += (20.0 * sin(6.0 * x * .pi) + 20.0 * sin(2.0 * x * .pi)) * 2.0 / 3.0
        r += (20.0 * sin(y * .pi) + 40.0 * sin(y / 3.0 * .pi)) * 2.0 / 3.0
        r += (160.0 * sin(y / 12.0 * .pi) + 320 * sin(y * .pi / 30.0)) * 2.0 / 3.0
        return r
    }

    private static func transformLon(_ x: Double, _ y: Double) -> Double {
        var r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * abs(x).squareRoot()
        r += (20.0 * sin(6.0 * x * .pi) + 20.0 * sin(2.0 * x * .pi)) * 2.0 / 3.0
        r += (20.0 * sin(x * .pi) + 40.0 * sin(x / 3.0 * .pi)) * 2.0 / 3.0
        r += (150.0 * sin(x / 12.0 * .pi) + 300.0 * sin(x / 30.0 * .pi)) * 2.0 / 3.0
        return r
    }

    public static func wgs84ToGCJ02(_ p: LatLon) -> LatLon {
        if isOutsideChina(p) { return p }
        var dLat = transformLat(p.lon - 105.0, p.lat - 35.0)
        var dLon = transformLon(p.lon - 105.0, p.lat - 35.0)
        let radLat = p.lat / 180.0 * .pi
        var magic = sin(radLat)
        magic = 1 - ee * magic * magic
        let sqrtMagic = magic.squareRoot()
        dLat = (dLat * 180.0) / ((a * (1 - ee)) / (magic * sqrtMagic) * .pi)
        dLon = (dLon * 180.0) / (a / sqrtMagic * cos(radLat) * .pi)
        return LatLon(lat: p.lat + dLat, lon: p.lon + dLon)
    }

    public static func gcj02ToWGS84(_ g: LatLon) -> LatLon {
        if isOutsideChina(g) { return g }
        let once = wgs84ToGCJ02(g)
        return invert(wgs84ToGCJ02, at: g, from: LatLon(lat: 2 * g.lat - once.lat, lon: 2 * g.lon - once.lon))
    }

    /// Solves `forward(x) = target` by fixed-point iteration from `guess`, to below 1e-10°: every
    /// shift here is small and smooth, so each round gains several digits.
    private static func invert(_ forward: (LatLon) -> LatLon, at target: LatLon, from guess: LatLon) -> LatLon {
        var x = guess
        for _ in 0..<30 {
            let t = forward(x)
            let dLat = t.lat - target.lat, dLon = t.lon - target.lon
            x.lat -= dLat; x.lon -= dLon
            if abs(dLat) < 1e-10 && abs(dLon) < 1e-10 { break }
        }
        return x
    }

    /// The published one-step inverse, refined by iteration so that `gcj02ToBD09` maps it back
    /// onto `b` (the one-step formula alone is off by about 0.1 m).
    public static func bd09ToGCJ02(_ b: LatLon) -> LatLon {
        let x = b.lon - 0.0065, y = b.lat - 0.006
        let z = (x * x + y * y).squareRoot() - 0.00002 * sin(y * xPi)
        let theta = atan2(y, x) - 0.000003 * cos(x * xPi)
        return invert(gcj02ToBD09, at: b, from: LatLon(lat: z * sin(theta), lon: z * cos(theta)))
    }

    public static func gcj02ToBD09(_ g: LatLon) -> LatLon {
        let x = g.lon, y = g.lat
        let z = (x * x + y * y).squareRoot() + 0.00002 * sin(y * xPi)
        let theta = atan2(y, x) + 0.000003 * cos(x * xPi)
        return LatLon(lat: z * sin(theta) + 0.006, lon: z * cos(theta) + 0.0065)
    }

    public static func bd09ToWGS84(_ b: LatLon) -> LatLon { gcj02ToWGS84(bd09ToGCJ02(b)) }

    public static func toWGS84(_ p: LatLon, from system: CoordinateSystem) -> LatLon {
        switch system {
        case .wgs84: return p
        case .gcj02: return gcj02ToWGS84(p)
        case .bd09: return bd09ToWGS84(p)
        }
    }
}
