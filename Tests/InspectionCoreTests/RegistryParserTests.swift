import Foundation
import InspectionCore
import Testing

@Suite struct RegistryParserTests {
    static let agencies = "agency_id,name,jurisdiction\nAMR,市场监管局,R1;R2\nENV,生态环境局,*\n"
    static let vehicles = "vehicle_id,agency_id,plate\namr-1,AMR,沪A12345\nenv-1,ENV,\n"
    static let tasks = "task_id,agency_id,partner_agency_ids,enterprise_id,site_id,kind,start,end,announced_at,cross_region,status\n"
        + "T1,AMR,ENV,E1,,joint,2025-06-17,2025-06-17,2025-06-10T09:00:00+08:00,,\n"
        + "T2,ENV,,E2,S2,complaint,2025-06-17T09:00:00+08:00,2025-06-17T12:00:00+08:00,,true,cancelled\n"

    static func feature(_ id: String, _ enterprise: String?, _ geometry: String, extra: String = "") -> String {
        let e = enterprise.map { "\"enterprise_id\": \"\($0)\"," } ?? ""
        return "{\"type\": \"Feature\", \"properties\": {\(e) \(extra) \"site_id\": \"\(id)\"}, \"geometry\": \(geometry)}"
    }

    static func sites(_ features: [String]) -> String {
        "{\"type\": \"FeatureCollection\", \"features\": [" + features.joined(separator: ",") + "]}"
    }

    static let square = "{\"type\": \"Polygon\", \"coordinates\": [[[121.40, 31.20], [121.401, 31.20], [121.401, 31.201], [121.40, 31.201], [121.40, 31.20]]]}"
    static let donut = "{\"type\": \"MultiPolygon\", \"coordinates\": [[[[121.41, 31.20], [121.42, 31.20], [121.42, 31.21], [121.41, 31.21], [121.41, 31.20]], [[121.413, 31.203], [121.417, 31.203], [121.417, 31.207], [121.413, 31.207], [121.413, 31.203]]]]}"
    static let point = "{\"type\": \"Point\", \"coordinates\": [121.43, 31.20]}"

    func parse(sites: String, agencies: String = agencies, vehicles: String = vehicles, tasks: String = tasks,
               coordinates: CoordinateSystem = .wgs84) throws(RegistryError) -> Registry {
        try RegistryParser(coordinates: coordinates).parse(sites: Array(sites.utf8), agencies: Array(agencies.utf8),
                                                           vehicles: Array(vehicles.utf8), tasks: Array(tasks.utf8))
    }

    @Test func loadsEveryGeometryAndTable() throws {
        let r = try parse(sites: Self.sites([
            Self.feature("S2", "E2", Self.donut, extra: "\"region\": \"R1\", \"risk_class\": \"B\", \"name\": \"Plant\","),
            Self.feature("S1", "E1", Self.square),
            Self.feature("S3", "E3", Self.point, extra: "\"radius_m\": 40, \"unknown_property\": [1],"),
        ]))
        #expect(r.sites.map(\.id) == ["S1", "S2", "S3"])  // numbered in site_id byte order
        #expect(r.sites[1].region == "R1" && r.sites[1].riskClass == "B" && r.sites[1].name == "Plant")
        // the hole of S2 is not inside it
        #expect(r.index.bestSite(lat: 31.205, lon: 121.415) == nil)
        #expect(r.index.bestSite(lat: 31.2015, lon: 121.4115) == 1)
        #expect(r.index.bestSite(lat: 31.2003, lon: 121.4300) == 2)
        #expect(r.agencies["AMR"]?.jurisdiction == .regions(["R1", "R2"]))
        #expect(r.agencies["ENV"]?.jurisdiction == .everywhere)
        #expect(r.vehicles["amr-1"]?.plate == "沪A12345" && r.vehicles["env-1"]?.plate == nil)
        let t1 = try #require(r.tasks["T1"])
        #expect(t1.partnerAgencyIds == ["ENV"] && t1.kind == .joint && t1.siteId == nil && t1.status == .active)
        #expect(t1.start == Timestamp.parseRFC3339("2025-06-17T00:00:00+08:00"))
        #expect(t1.end == Timestamp.parseRFC3339("2025-06-18T00:00:00+08:00")! - 1)
        let t2 = try #require(r.tasks["T2"])
        #expect(t2.crossRegion && t2.status == .cancelled && t2.siteId == "S2" && t2.announcedAt == nil)
    }

    @Test func gcj02SitesAreConvertedToWGS84() throws {
        let wgs = LatLon(lat: 31.2005, lon: 121.4005)
        let g = ChinaCoordinates.wgs84ToGCJ02(wgs)
        let d = 0.0002
        let poly = "{\"type\": \"Polygon\", \"coordinates\": [[[\(g.lon - d), \(g.lat - d)], [\(g.lon + d), \(g.lat - d)], [\(g.lon + d), \(g.lat + d)], [\(g.lon - d), \(g.lat + d)]]]}"
        let converted = try parse(sites: Self.sites([Self.feature("S1", "E1", poly)]), coordinates: .gcj02)
        #expect(converted.index.contains(site: 0, lat: wgs.lat, lon: wgs.lon))
        let raw = try parse(sites: Self.sites([Self.feature("S1", "E1", poly)]))
        #expect(!raw.index.contains(site: 0, lat: wgs.lat, lon: wgs.lon))
    }

    @Test func flawedRingsAreDroppedWithAWarning() throws {
        let degenerate = "{\"type\": \"Polygon\", \"coordinates\": [[[121.40, 31.20], [121.401, 31.20], [121.40, 31.20]]]}"
        let r = try parse(sites: Self.sites([Self.feature("S1", "E1", Self.square), Self.feature("S9", "E9", degenerate)]))
        #expect(r.sites.map(\.id) == ["S1"])
        #expect(r.warnings.count == 2)
        #expect(r.warnings.allSatisfy { $0.contains("S9") })
    }

    func error(_ body: () throws -> Registry) -> RegistryError? {
        do { _ = try body(); return nil } catch { return error as? RegistryError }
    }

    @Test func siteErrorsNameTheFeatureAndField() {
        let dup = error { try parse(sites: Self.sites([Self.feature("S1", "E1", Self.square), Self.feature("S1", "E2", Self.square)])) }
        #expect(dup == RegistryError(file: "sites.geojson", location: "feature 2 (site_id \"S1\")", field: "site_id",
                                     message: "duplicate site_id \"S1\""))
        let noEnterprise = error { try parse(sites: Self.sites([Self.feature("S1", nil, Self.square)])) }
        #expect(noEnterprise?.field == "enterprise_id" && noEnterprise?.location == "feature 1 (site_id \"S1\")")
        let noRadius = error { try parse(sites: Self.sites([Self.feature("S1", "E1", Self.point)])) }
        #expect(noRadius?.field == "radius_m")
        let line = "{\"type\": \"LineString\", \"coordinates\": [[121.4, 31.2], [121.5, 31.2]]}"
        #expect(error { try parse(sites: Self.sites([Self.feature("S1", "E1", line)])) }?.field == "geometry.type")
        let bad = "{\"type\": \"Point\", \"coordinates\": [200, 31.2]}"
        #expect(error { try parse(sites: Self.sites([Self.feature("S1", "E1", bad, extra: "\"radius_m\": 5,")])) }?.field == "geometry.coordinates")
        #expect(error { try parse(sites: "{\"type\": \"FeatureCollection\", \"features\": [") }?.message.hasPrefix("not valid JSON") == true)
    }

    /// Issue 28 item 6: an outline of more vertices than a site may have is an error naming the
    /// file and the feature; at the bound it loads.
    @Test func aSiteWithTooManyVerticesIsNamed() throws {
        func ring(_ n: Int) -> String {
            let pts = (0..<n - 1).map { k -> String in
                let a = Double(k) / Double(n - 1) * 2 * .pi
                return "[\(121.4 + 0.001 * cos(a)), \(31.2 + 0.001 * sin(a))]"
            }
            return "{\"type\": \"Polygon\", \"coordinates\": [[" + (pts + [pts[0]]).joined(separator: ",") + "]]}"
        }
        let over = error { try parse(sites: Self.sites([Self.feature("S1", "E1", Self.square), Self.feature("BIG", "E2", ring(RegistryParser.maxVerticesPerSite + 1))])) }
        #expect(over?.file == "sites.geojson" && over?.location == "feature 2 (site_id \"BIG\")" && over?.field == "geometry.coordinates")
        #expect(over?.message == "100001 vertices, over the 100000 a site may have")
        #expect(try parse(sites: Self.sites([Self.feature("BIG", "E2", ring(RegistryParser.maxVerticesPerSite))])).sites.count == 1)
    }

    @Test func sitesOutsideRegistryBoundsAreRefusedAndASwapIsNamed() throws {
        let cixi = GeoBox(minLat: 30.0, minLon: 121.0, maxLat: 30.4, maxLon: 121.6)
        func parse(_ geometry: String) throws(RegistryError) -> Registry {
            try RegistryParser(bounds: cixi).parse(sites: Array(Self.sites([Self.feature("S1", "E1", geometry, extra: "\"radius_m\": 30,")]).utf8),
                                                   agencies: Array(Self.agencies.utf8), vehicles: Array(Self.vehicles.utf8), tasks: Array(Self.tasks.utf8))
        }
        let inside = "{\"type\": \"Point\", \"coordinates\": [121.25, 30.17]}"
        #expect(try parse(inside).sites.count == 1)
        let swapped = error { try parse("{\"type\": \"Point\", \"coordinates\": [30.17, 121.25]}") }
        #expect(swapped?.field == "geometry.coordinates" && swapped?.location == "feature 1 (site_id \"S1\")")
        // Out of range as a latitude already; a swap that stays in range is named as one:
        #expect(swapped?.message.contains("out of range") == true)
        let helsinkiBounds = GeoBox(minLat: 60.0, minLon: 24.5, maxLat: 60.4, maxLon: 25.3)
        let e = error {
            try RegistryParser(bounds: helsinkiBounds).parse(
                sites: Array(Self.sites([Self.feature("S1", "E1", "{\"type\": \"Point\", \"coordinates\": [60.17, 24.94]}", extra: "\"radius_m\": 30,")]).utf8),
                agencies: Array(Self.agencies.utf8), vehicles: Array(Self.vehicles.utf8), tasks: Array(Self.tasks.utf8))
        }
        #expect(e?.message == "[60.17, 24.94] is outside registry.bounds [24.5, 60.0, 25.3, 60.4] (lon and lat swapped? GeoJSON is [lon, lat])")
        let elsewhere = error { try parse("{\"type\": \"Point\", \"coordinates\": [116.4, 39.9]}") }
        #expect(elsewhere?.message == "[116.4, 39.9] is outside registry.bounds [121.0, 30.0, 121.6, 30.4]")
        // Without bounds, anywhere in range is taken.
        #expect(try self.parse(sites: Self.sites([Self.feature("S1", "E1", "{\"type\": \"Point\", \"coordinates\": [116.4, 39.9]}", extra: "\"radius_m\": 30,")])).sites.count == 1)
    }

    @Test func aCircleSiteHasABoundedRadius() throws {
        let huge = error { try parse(sites: Self.sites([Self.feature("P1", "E1", Self.point, extra: "\"radius_m\": 1e300,")])) }
        #expect(huge?.field == "radius_m" && huge?.message == "1e+300 m is over the 20000 m a site's radius may have")
        #expect(try parse(sites: Self.sites([Self.feature("P1", "E1", Self.point, extra: "\"radius_m\": 20000,")])).sites.count == 1)
        // The index stays within the world whatever it is given (the fuzzer's crash).
        let wide = SiteIndex(geometries: [SiteGeometry(center: LatLon(lat: 89.9, lon: 179.9), radiusM: 1e300)], margin: 30)
        #expect(wide.bestSite(lat: 0, lon: 0) == 0)
    }

    @Test func csvErrorsNameTheLineAndField() {
        let badKind = Self.tasks + "T3,AMR,,E1,,inspection,2025-06-17,2025-06-17,,,\n"
        let e1 = error { try parse(sites: Self.sites([]), tasks: badKind) }
        #expect(e1?.file == "tasks.csv" && e1?.location == "line 4" && e1?.field == "kind")
        let badDate = Self.tasks + "T3,AMR,,E1,,planned,2025-06-31,2025-06-17,,,\n"
        #expect(error { try parse(sites: Self.sites([]), tasks: badDate) }?.field == "start")
        let backwards = Self.tasks + "T3,AMR,,E1,,planned,2025-06-18,2025-06-17,,,\n"
        #expect(error { try parse(sites: Self.sites([]), tasks: backwards) }?.field == "end")
        let dupTask = Self.tasks + "T1,AMR,,E1,,planned,2025-06-17,2025-06-17,,,\n"
        #expect(error { try parse(sites: Self.sites([]), tasks: dupTask) }?.message == "duplicate task_id \"T1\"")
        let partner = Self.tasks + "T3,AMR,NOPE,E1,,joint,2025-06-17,2025-06-17,,,\n"
        #expect(error { try parse(sites: Self.sites([]), tasks: partner) }?.field == "partner_agency_ids")
        let crossRegion = Self.tasks + "T3,AMR,,E1,,planned,2025-06-17,2025-06-17,,yes,\n"
        #expect(error { try parse(sites: Self.sites([]), tasks: crossRegion) }?.field == "cross_region")
        let vehicle = error { try parse(sites: Self.sites([]), vehicles: Self.vehicles + "x-1,POLICE,\n") }
        #expect(vehicle == RegistryError(file: "vehicles.csv", location: "line 4", field: "agency_id", message: "unknown agency \"POLICE\""))
        let jurisdiction = error { try parse(sites: Self.sites([]), agencies: Self.agencies + "FIRE,消防,\n") }
        #expect(jurisdiction?.field == "jurisdiction" && jurisdiction?.location == "line 4")
        let header = error { try parse(sites: Self.sites([]), agencies: "agency,name\nAMR,x\n") }
        #expect(header?.field == "agency_id" && header?.message == "missing column")
    }

    @Test func quotedCsvFieldsAndExtraColumns() throws {
        let agencies = "agency_id,name,jurisdiction,phone\nAMR,\"Market, \"\"regulation\"\"\",R1,123\n"
        let r = try parse(sites: Self.sites([]), agencies: agencies,
                          vehicles: "vehicle_id,agency_id\namr-1,AMR\n", tasks: "task_id,agency_id,enterprise_id,kind,start,end\n")
        #expect(r.agencies["AMR"]?.name == "Market, \"regulation\"")
    }
}
