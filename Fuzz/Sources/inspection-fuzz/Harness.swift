#if canImport(Glibc)
import Glibc
#endif
import InspectionFuzzTargets

/// libFuzzer's entry point: `IW_FUZZ_TARGET=<target> inspection-fuzz CORPUS…` when built with
/// `-sanitize=fuzzer` (scripts/fuzz).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FuzzTarget.selected.run(UnsafeBufferPointer(start: data, count: data == nil ? 0 : size))
    return 0
}

#if !FUZZING
/// Built without libFuzzer: `inspection-fuzz TARGET FILE…` runs files through a target (a crash
/// found by the fuzzer, replayed).
@main
struct ReplayInputs {
    static func main() {
        let args = CommandLine.arguments.dropFirst()
        if args.first == "--seed", args.count == 4 {
            let a = Array(args)
            do { try Seeds.write(data: a[1], repo: a[2], to: a[3]) } catch { print("seeding: \(error)"); exit(2) }
            return
        }
        guard let name = args.first, let target = FuzzTarget(rawValue: name) else {
            print("usage: inspection-fuzz TARGET FILE…  |  inspection-fuzz --seed DATA_DIR REPO_DIR OUT_DIR  (targets: " + FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ") + ")")
            exit(2)
        }
        for path in args.dropFirst() {
            guard let f = fopen(path, "rb") else { print("\(path): cannot read"); exit(2) }
            var bytes: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 65_536)
            while true {
                let n = fread(&chunk, 1, chunk.count, f)
                if n <= 0 { break }
                bytes += chunk[..<n]
            }
            fclose(f)
            bytes.withUnsafeBufferPointer { target.run($0) }
            print("\(path): ok")
        }
    }
}
#endif
