/// One field of a CSV record: a byte range of the input, quotes already stripped.
public struct CSVField: Sendable {
    public var start: Int
    public var end: Int
    /// The field was quoted; doubled quotes inside still need `CSVReader.text(of:)` to undo.
    public var quoted: Bool
    public var isEmpty: Bool { start == end }
}

/// An RFC 4180 reader over bytes (quoted fields, doubled quotes, CRLF or LF, a UTF-8 BOM).
/// It reuses one field array, so reading a record allocates nothing.
public struct CSVReader {
    public let bytes: UnsafeBufferPointer<UInt8>
    public private(set) var offset: Int
    /// Line (1-based) on which the last record returned by `next` began.
    public private(set) var line = 0
    private var nextLine = 1

    public init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
        offset = (bytes.count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF) ? 3 : 0
    }

    /// Reads the next record into `fields`; false at the end of input. Blank lines are skipped.
    @inline(__always)
    public mutating func next(into fields: inout [CSVField]) -> Bool {
        fields.removeAll(keepingCapacity: true)
        let n = bytes.count
        while offset < n && (bytes[offset] == 10 || bytes[offset] == 13) {
            if bytes[offset] == 10 { nextLine += 1 }
            offset += 1
        }
        guard offset < n else { return false }
        line = nextLine
        var p = offset
        while true {
            if p < n && bytes[p] == 34 {
                // quoted field
                p += 1
                let s = p
                while p < n {
                    if bytes[p] == 34 {
                        if p + 1 < n && bytes[p + 1] == 34 { p += 2; continue }
                        break
                    }
                    if bytes[p] == 10 { nextLine += 1 }
                    p += 1
                }
                fields.append(CSVField(start: s, end: p, quoted: true))
                if p < n { p += 1 }  // closing quote
                while p < n && bytes[p] != 44 && bytes[p] != 10 && bytes[p] != 13 { p += 1 }  // junk after quote
            } else {
                let s = p
                while p < n {
                    let c = bytes[p]
                    if c == 44 || c == 10 || c == 13 { break }
                    p += 1
                }
                fields.append(CSVField(start: s, end: p, quoted: false))
            }
            if p < n && bytes[p] == 44 { p += 1; continue }
            break
        }
        if p < n && bytes[p] == 13 { p += 1 }
        if p < n && bytes[p] == 10 { p += 1; nextLine += 1 }
        offset = p
        return true
    }

    /// The field as text, doubled quotes undone and surrounding blanks of an unquoted field trimmed.
    public func text(of f: CSVField) -> String {
        var s = f.start, e = f.end
        if !f.quoted {
            while s < e && (bytes[s] == 32 || bytes[s] == 9) { s += 1 }
            while e > s && (bytes[e - 1] == 32 || bytes[e - 1] == 9) { e -= 1 }
        }
        let slice = UnsafeBufferPointer(rebasing: bytes[s..<e])
        if f.quoted && slice.contains(34) {
            var out: [UInt8] = []
            out.reserveCapacity(slice.count)
            var i = 0
            while i < slice.count {
                out.append(slice[i])
                i += (slice[i] == 34 && i + 1 < slice.count && slice[i + 1] == 34) ? 2 : 1
            }
            return String(decoding: out, as: UTF8.self)
        }
        return String(decoding: slice, as: UTF8.self)
    }
}
