/// A streaming reader for GeoJSON FeatureCollections: it walks the bytes once and hands over one
/// feature at a time, so a 100,000-site file costs what its sites cost, not a tree of objects.
/// Only what SPEC §2 needs is kept: flat property values and the geometry's nested coordinates.
final class GeoJSONReader {
    enum Property: Equatable {
        case string(String)
        case number(Double, text: String)
        case bool(Bool)
        case null
        case nested
    }

    /// Nested coordinate arrays: a number, or a list of them.
    indirect enum Coordinates {
        case number(Double)
        case list([Coordinates])
    }

    struct Feature {
        var properties: [String: Property] = [:]
        var hasProperties = false
        var geometryType: String?
        var coordinates: Coordinates?
        var hasGeometry = false
    }

    struct SyntaxError: Error {
        var message: String
        var offset: Int
    }

    private let b: [UInt8]
    private var p = 0

    init(_ bytes: [UInt8]) {
        b = bytes
        if b.count >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF { p = 3 }
    }

    /// Line (1-based) of a byte offset, for messages.
    func line(of offset: Int) -> Int { 1 + b[0..<min(offset, b.count)].lazy.filter { $0 == 10 }.count }

    /// Reads the collection; `feature` is called for each element of `features` in order, with its
    /// index. Returns the collection's `type` member.
    func readCollection(_ feature: (Int, Feature) throws -> Void) throws -> String? {
        var type: String?
        var sawFeatures = false
        try object { key in
            switch key {
            case "type": type = try stringOrSkip()
            case "features":
                sawFeatures = true
                var n = 0
                try array { try feature(n, try readFeature()); n += 1 }
            default: try skipValue()
            }
        }
        skipSpace()
        guard p == b.count else { throw SyntaxError(message: "unexpected text after the collection", offset: p) }
        if !sawFeatures { throw SyntaxError(message: "no features array", offset: 0) }
        return type
    }

    private func readFeature() throws -> Feature {
        var f = Feature()
        skipSpace()
        guard peek == 123 else { try skipValue(); return f }
        try object { key in
            switch key {
            case "properties":
                skipSpace()
                if peek == 123 {
                    f.hasProperties = true
                    try object { name in f.properties[name] = try property() }
                } else { try skipValue() }
            case "geometry":
                skipSpace()
                if peek == 123 {
                    f.hasGeometry = true
                    try object { gk in
                        switch gk {
                        case "type": f.geometryType = try stringOrSkip()
                        case "coordinates": f.coordinates = try coordinates()
                        default: try skipValue()
                        }
                    }
                } else { try skipValue() }
            default: try skipValue()
            }
        }
        return f
    }

    // MARK: JSON pieces

    private var peek: UInt8 { p < b.count ? b[p] : 0 }

    private func skipSpace() {
        while p < b.count, b[p] == 32 || b[p] == 9 || b[p] == 10 || b[p] == 13 { p += 1 }
    }

    private func expect(_ c: UInt8, _ what: String) throws {
        skipSpace()
        guard p < b.count, b[p] == c else { throw SyntaxError(message: "expected \(what)", offset: p) }
        p += 1
    }

    private func object(_ member: (String) throws -> Void) throws {
        try expect(123, "{")
        skipSpace()
        if peek == 125 { p += 1; return }
        while true {
            skipSpace()
            guard peek == 34 else { throw SyntaxError(message: "expected a member name", offset: p) }
            let key = try string()
            try expect(58, ":")
            try member(key)
            skipSpace()
            if peek == 44 { p += 1; continue }
            try expect(125, ", or }")
            return
        }
    }

    private func array(_ element: () throws -> Void) throws {
        try expect(91, "[")
        skipSpace()
        if peek == 93 { p += 1; return }
        while true {
            try element()
            skipSpace()
            if peek == 44 { p += 1; continue }
            try expect(93, ", or ]")
            return
        }
    }

    private func string() throws -> String {
        let start = p
        p += 1
        let s = p
        var escaped = false
        while p < b.count {
            let c = b[p]
            if c == 34 {
                let text: String = b.withUnsafeBufferPointer { buf in
                    escaped ? String(decoding: JSONScanner.unescaped(buf, s, p), as: UTF8.self)
                        : String(decoding: UnsafeBufferPointer(rebasing: buf[s..<p]), as: UTF8.self)
                }
                p += 1
                return text
            }
            if c == 92 { escaped = true; p += 2; continue }
            if c < 32 { throw SyntaxError(message: "control character in a string", offset: p) }
            p += 1
        }
        throw SyntaxError(message: "unterminated string", offset: start)
    }

    private func stringOrSkip() throws -> String? {
        skipSpace()
        if peek == 34 { return try string() }
        try skipValue()
        return nil
    }

    private func number() throws -> (Double, String) {
        let s = p
        while p < b.count, (b[p] >= 48 && b[p] <= 57) || b[p] == 45 || b[p] == 43 || b[p] == 46 || b[p] == 101 || b[p] == 69 { p += 1 }
        let v = b.withUnsafeBufferPointer { NumberParsing.double($0, s, p) }
        guard let v else { throw SyntaxError(message: "malformed number", offset: s) }
        return (v, String(decoding: b[s..<p], as: UTF8.self))
    }

    private func literal(_ word: String, _ value: Property) throws -> Property {
        let w = Array(word.utf8)
        guard p + w.count <= b.count, Array(b[p..<p + w.count]) == w else {
            throw SyntaxError(message: "unexpected character", offset: p)
        }
        p += w.count
        return value
    }

    private func property() throws -> Property {
        skipSpace()
        switch peek {
        case 34: return .string(try string())
        case 116: return try literal("true", .bool(true))
        case 102: return try literal("false", .bool(false))
        case 110: return try literal("null", .null)
        case 123, 91: try skipValue(); return .nested
        default:
            let (v, text) = try number()
            return .number(v, text: text)
        }
    }

    private func coordinates() throws -> Coordinates {
        skipSpace()
        if peek == 91 {
            var items: [Coordinates] = []
            try array { items.append(try coordinates()) }
            return .list(items)
        }
        if peek == 110 { _ = try literal("null", .null); return .list([]) }
        return .number(try number().0)
    }

    private func skipValue() throws {
        skipSpace()
        switch peek {
        case 34: _ = try string()
        case 123: try object { _ in try skipValue() }
        case 91: try array { try skipValue() }
        case 116: _ = try literal("true", .null)
        case 102: _ = try literal("false", .null)
        case 110: _ = try literal("null", .null)
        default: _ = try number()
        }
    }
}
