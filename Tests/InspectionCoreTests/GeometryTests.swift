import InspectionCore
import Testing

@Suite struct GeometryTests {
    /// A 100 m square with a 40 m square hole in the middle.
    let donut: SiteGeometry = {
        let shell = [Town.at(0, 0), Town.at(100, 0), Town.at(100, 100), Town.at(0, 100)]
        let hole = [Town.at(30, 30), Town.at(70, 30), Town.at(70, 70), Town.at(30, 70)]
        return SiteGeometry(polygons: [[shell, hole]])!
    }()

    @Test func holesAreHonoured() {
        let inRing = Town.at(10, 50), inHole = Town.at(50, 50)
        #expect(donut.contains(lat: inRing.lat, lon: inRing.lon))
        #expect(!donut.contains(lat: inHole.lat, lon: inHole.lon))
        // the hole's centre is 20 m from the hole's edges
        #expect(abs(donut.distanceM(lat: inHole.lat, lon: inHole.lon) - 20) < 0.05)
        #expect(abs(donut.areaM2 - (10_000 - 1_600)) < 5)
    }

    @Test func distanceOutsideIsInMetres() {
        let p = Town.at(150, 50)
        #expect(abs(donut.distanceM(lat: p.lat, lon: p.lon) - 50) < 0.05)
        let corner = Town.at(103, 104)
        #expect(abs(donut.distanceM(lat: corner.lat, lon: corner.lon) - 5) < 0.01)
        #expect(donut.distanceM(lat: Town.at(50, 10).lat, lon: Town.at(50, 10).lon) == 0)
    }

    @Test func aMultiPolygonIsTheUnionOfItsParts() {
        let a = [Town.at(0, 0), Town.at(10, 0), Town.at(10, 10), Town.at(0, 10)]
        let b = [Town.at(100, 0), Town.at(110, 0), Town.at(110, 10), Town.at(100, 10)]
        let g = SiteGeometry(polygons: [[a], [b]])!
        #expect(g.contains(lat: Town.at(5, 5).lat, lon: Town.at(5, 5).lon))
        #expect(g.contains(lat: Town.at(105, 5).lat, lon: Town.at(105, 5).lon))
        #expect(!g.contains(lat: Town.at(55, 5).lat, lon: Town.at(55, 5).lon))
        #expect(abs(g.distanceM(lat: Town.at(55, 5).lat, lon: Town.at(55, 5).lon) - 45) < 0.05)
    }

    @Test func aSelfIntersectingRingIsReadByEvenOdd() {
        // a bow tie: two triangles meeting at (50, 50)
        let bow = [Town.at(0, 0), Town.at(100, 100), Town.at(100, 0), Town.at(0, 100)]
        let g = SiteGeometry(polygons: [[bow]])!
        #expect(g.contains(lat: Town.at(10, 50).lat, lon: Town.at(10, 50).lon))
        #expect(g.contains(lat: Town.at(90, 50).lat, lon: Town.at(90, 50).lon))
        #expect(!g.contains(lat: Town.at(50, 10).lat, lon: Town.at(50, 10).lon))
    }

    @Test func ringsWithFewerThanThreeDistinctPointsAreDropped() {
        let p = Town.at(0, 0), q = Town.at(10, 0)
        #expect(RingCleaner.clean([p, q, p, q, p]) == nil)
        #expect(RingCleaner.clean([p, p, p]) == nil)
        let r = Town.at(0, 10)
        #expect(RingCleaner.clean([p, q, q, r, p]) == [p, q, r])
    }

    @Test func aCircleIsItsRadius() {
        let c = SiteGeometry(center: Town.at(0, 0), radiusM: 25)
        #expect(c.contains(lat: Town.at(24, 0).lat, lon: Town.at(24, 0).lon))
        #expect(!c.contains(lat: Town.at(0, 26).lat, lon: Town.at(0, 26).lon))
        #expect(abs(c.distanceM(lat: Town.at(0, 60).lat, lon: Town.at(0, 60).lon) - 35) < 0.05)
    }

    @Test func withinTheMarginAgreesWithTheDistance() {
        for x in stride(from: -40.0, through: 140, by: 7.3) {
            for y in stride(from: -40.0, through: 140, by: 6.1) {
                let p = Town.at(x, y)
                let d = donut.distanceM(lat: p.lat, lon: p.lon)
                guard abs(d - 30) > 0.01 else { continue }
                #expect(donut.isWithin(lat: p.lat, lon: p.lon, margin: 30) == (d <= 30))
                #expect((donut.distanceIfWithin(lat: p.lat, lon: p.lon, margin: 30) != nil) == (d <= 30))
            }
        }
    }

    @Test func equirectangularDistanceMatchesHaversineAtCityScale() {
        let a = LatLon(lat: 60.17, lon: 24.94), b = LatLon(lat: 60.20, lon: 25.00)
        let h = Geo.haversineM(a, b)
        #expect(abs(Geo.approxDistanceM(a.lat, a.lon, b.lat, b.lon) - h) / h < 0.001)
    }
}

@Suite struct ChinaCoordinatesTests {
    @Test func gcj02RoundTripsToBelowAMillimetre() {
        for (lat, lon) in [(31.2304, 121.4737), (39.9042, 116.4074), (22.5431, 114.0579), (30.17, 121.26)] {
            let w = LatLon(lat: lat, lon: lon)
            let g = ChinaCoordinates.wgs84ToGCJ02(w)
            #expect(Geo.haversineM(w, g) > 100)  // the offset is hundreds of metres
            let back = ChinaCoordinates.gcj02ToWGS84(g)
            #expect(Geo.haversineM(w, back) < 0.001)
        }
    }

    @Test func bd09RoundTrips() {
        let w = LatLon(lat: 31.2304, lon: 121.4737)
        let b = ChinaCoordinates.gcj02ToBD09(ChinaCoordinates.wgs84ToGCJ02(w))
        #expect(Geo.haversineM(ChinaCoordinates.bd09ToWGS84(b), w) < 0.01)
    }

    @Test func knownOffsetInBeijing() {
        // Tiananmen: WGS-84 (39.908, 116.3912) is shown by Chinese web maps about 500 m to the south-east
        let g = ChinaCoordinates.wgs84ToGCJ02(LatLon(lat: 39.908, lon: 116.3912))
        #expect(g.lat > 39.908 && g.lon > 116.3912)
        let d = Geo.haversineM(g, LatLon(lat: 39.908, lon: 116.3912))
        #expect(d > 400 && d < 700)
    }

    @Test func outsideChinaNothingMoves() {
        let helsinki = LatLon(lat: 60.17, lon: 24.94)
        #expect(ChinaCoordinates.gcj02ToWGS84(helsinki) == helsinki)
    }
}

@Suite struct SiteIndexTests {
    /// Sites from 5 m to 2.5 km across, scattered over 20 km: the index must find exactly what a scan finds.
    @Test func findsExactlyWhatAScanFinds() {
        var rng = SplitMix64(seed: 42)
        var geometries: [SiteGeometry] = []
        for i in 0..<2000 {
            let x = rng.unit() * 15_000, y = rng.unit() * 15_000
            let size = i % 100 == 0 ? 500 + rng.unit() * 2000 : 5 + rng.unit() * 150
            if i % 7 == 0 {
                geometries.append(SiteGeometry(center: Town.at(x, y), radiusM: size / 2))
            } else {
                geometries.append(Town.rect(x, y, size, size * (0.3 + rng.unit())))
            }
        }
        let index = SiteIndex(geometries: geometries, margin: 30)
        var hits = 0
        for _ in 0..<6000 {
            let p = Town.at(rng.unit() * 15_000, rng.unit() * 15_000)
            let scan = geometries.indices.filter { geometries[$0].isWithin(lat: p.lat, lon: p.lon, margin: 30) }.map(Int32.init)
            #expect(index.sitesAt(lat: p.lat, lon: p.lon) == scan)
            if let best = index.bestSite(lat: p.lat, lon: p.lon) {
                hits += 1
                let ranked = scan.sorted {
                    let da = geometries[Int($0)].distanceM(lat: p.lat, lon: p.lon), db = geometries[Int($1)].distanceM(lat: p.lat, lon: p.lon)
                    if da != db { return da < db }
                    if geometries[Int($0)].areaM2 != geometries[Int($1)].areaM2 { return geometries[Int($0)].areaM2 < geometries[Int($1)].areaM2 }
                    return $0 < $1
                }
                #expect(best == ranked.first)
                #expect(index.bestCandidate(lat: p.lat, lon: p.lon)?.blob == index.blobOffset(best))
            } else {
                #expect(scan.isEmpty)
            }
        }
        #expect(hits > 150)  // the test exercises real hits, not just misses
    }

    @Test func radiusQueryFindsSitesFarBeyondTheMargin() {
        let geometries = [Town.rect(0, 0, 10, 10), Town.rect(400, 0, 10, 10), Town.rect(700, 0, 10, 10)]
        let index = SiteIndex(geometries: geometries, margin: 30)
        let p = Town.at(250, 5)
        let found = index.sites(within: 300, lat: p.lat, lon: p.lon)
        #expect(found.map(\.site) == [1, 0])
        #expect(abs(found[0].distanceM - 150) < 0.1)
        #expect(index.sites(within: 460, lat: p.lat, lon: p.lon).map(\.site) == [1, 0, 2])
    }

    @Test func aLargeParkAndATinyWorkshopSideBySide() {
        let park = Town.rect(0, 0, 2000, 2000), shop = Town.rect(2010, 1000, 20, 20)
        let index = SiteIndex(geometries: [park, shop], margin: 30)
        let atShop = Town.at(2020, 1010), inPark = Town.at(1990, 1010), parkEdge = Town.at(2005, 1010)
        #expect(index.bestSite(lat: atShop.lat, lon: atShop.lon) == 1)
        #expect(index.bestSite(lat: inPark.lat, lon: inPark.lon) == 0)
        #expect(index.sitesAt(lat: parkEdge.lat, lon: parkEdge.lon) == [0, 1])
        #expect(index.bestSite(lat: parkEdge.lat, lon: parkEdge.lon) == 1)  // 5 m from both: smaller area wins
    }
}
