import Foundation

/// Plain WGS-84 coordinates in degrees.
public struct LatLon: Sendable, Equatable, Hashable {
    public var lat: Double
    public var lon: Double
    public init(lat: Double, lon: Double) { self.lat = lat; self.lon = lon }
}

public enum Geo {
    /// Metres per degree of latitude on a sphere of the mean Earth radius (6,371,008.8 m).
    public static let metresPerDegree = 6_371_008.8 * Double.pi / 180

    /// Distance in metres by the equirectangular approximation: within 0.1 % of the great circle
    /// below 100 km, which is all a speed check or a 500 m radius needs.
    @inline(__always)
    public static func approxDistanceM(_ lat1: Double, _ lon1: Double, _ lat2: Double, _ lon2: Double) -> Double {
        let kx = cos((lat1 + lat2) * 0.5 * Double.pi / 180)
        var dLon = lon2 - lon1
        if dLon > 180 { dLon -= 360 } else if dLon < -180 { dLon += 360 }
        let dx = dLon * kx, dy = lat2 - lat1
        return (dx * dx + dy * dy).squareRoot() * metresPerDegree
    }

    /// Great-circle distance in metres (haversine).
    public static func haversineM(_ a: LatLon, _ b: LatLon) -> Double {
        let r = Double.pi / 180
        let dLat = (b.lat - a.lat) * r, dLon = (b.lon - a.lon) * r
        let h = sin(dLat / 2) * sin(dLat / 2) + cos(a.lat * r) * cos(b.lat * r) * sin(dLon / 2) * sin(dLon / 2)
        return 2 * 6_371_008.8 * asin(min(1, h.squareRoot()))
    }

    @inline(__always)
    public static func isValid(lat: Double, lon: Double) -> Bool {
        lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180
    }
}

/// An axis-aligned box in degrees.
public struct GeoBox: Sendable, Equatable {
    public var minLat: Double, minLon: Double, maxLat: Double, maxLon: Double

    public init(minLat: Double, minLon: Double, maxLat: Double, maxLon: Double) {
        self.minLat = minLat; self.minLon = minLon; self.maxLat = maxLat; self.maxLon = maxLon
    }

    @inline(__always)
    public func contains(lat: Double, lon: Double) -> Bool {
        lat >= minLat && lat <= maxLat && lon >= minLon && lon <= maxLon
    }

    /// The box grown by `metres` on every side (in longitude at the box's most poleward latitude).
    public func expanded(byMetres metres: Double) -> GeoBox {
        let dLat = metres / Geo.metresPerDegree
        let poleward = min(89.0, max(abs(minLat), abs(maxLat)) + dLat)
        let dLon = metres / (Geo.metresPerDegree * cos(poleward * Double.pi / 180))
        return GeoBox(minLat: minLat - dLat, minLon: minLon - dLon, maxLat: maxLat + dLat, maxLon: maxLon + dLon)
    }
}
