import InspectionCore

/// Trackers out of coverage (SPEC §3.4): on a share of vehicle-days an outage of 5–90 minutes,
/// whose fixes the tracker keeps and sends after the first live fix that follows it. The fixes
/// themselves do not change (the ground truth is what the vehicle did); only when each arrives.
public struct BlindZones: Sendable {
    /// Share of vehicle-days with an outage (0…1).
    public var share: Double
    public var seed: UInt64
    public var minMinutes = 5
    public var maxMinutes = 90

    public init(share: Double, seed: UInt64) { self.share = share; self.seed = seed }

    /// One position's place in the order of sending.
    public struct Arrival: Sendable, Equatable {
        /// Index into the positions given.
        public var index: Int
        /// Held through an outage and sent late (in a batch with the others of its outage).
        public var held: Bool
        /// The outage it was held in (the same number for every fix sent in one batch), or -1.
        public var outage: Int
    }

    /// The order in which the positions are sent. `vehicle` and `ts` give each position's vehicle
    /// and time; a vehicle's positions are taken in time order (ties in input order). An outage
    /// begins at one of the vehicle's fixes of that day, chosen at random (vehicles spend most of
    /// their day at sites, so many outages fall at one); the day's last outage may run into the next.
    public func arrivals(vehicle: [Int32], ts: [Millis], calendar: LocalCalendar) -> [Arrival] {
        precondition(vehicle.count == ts.count)
        var rng = SplitMix64(seed: seed ^ 0x626C_696E_645F_7A6E)
        var byVehicle: [Int32: [Int]] = [:]
        for i in vehicle.indices { byVehicle[vehicle[i], default: []].append(i) }
        // Sending time of each position: its own, or the live fix after its outage (then its
        // place among the held ones).
        var sendAt = ts, after = [Int](repeating: 0, count: ts.count), held = [Bool](repeating: false, count: ts.count)
        var outageOf = [Int](repeating: -1, count: ts.count)
        var outages = 0
        for v in byVehicle.keys.sorted() {
            let list = byVehicle[v]!.sorted { ts[$0] != ts[$1] ? ts[$0] < ts[$1] : $0 < $1 }
            var k = 0
            while k < list.count {
                let day = calendar.day(of: ts[list[k]])
                var end = k
                while end < list.count && calendar.day(of: ts[list[end]]) == day { end += 1 }
                let draw = Double(rng.next() >> 11) / Double(1 << 53)
                if draw < share {
                    let first = k + Int(rng.next() % UInt64(end - k))
                    let span = Millis(minMinutes + Int(rng.next() % UInt64(maxMinutes - minMinutes + 1))) * 60_000
                    let until = ts[list[first]] + span
                    var j = first
                    while j < list.count && ts[list[j]] <= until { j += 1 }
                    // The fixes of the outage go after the first live one that follows; with none
                    // (the trace ends in the outage) they go at its end.
                    let release = j < list.count ? ts[list[j]] : until
                    for (n, m) in (first..<j).enumerated() {
                        sendAt[list[m]] = release
                        after[list[m]] = n + 1
                        held[list[m]] = true
                        outageOf[list[m]] = outages
                    }
                    outages += 1
                    k = max(end, j)
                } else {
                    k = end
                }
            }
        }
        let order = ts.indices.sorted { a, b in
            if sendAt[a] != sendAt[b] { return sendAt[a] < sendAt[b] }
            if vehicle[a] != vehicle[b] { return vehicle[a] < vehicle[b] }
            if after[a] != after[b] { return after[a] < after[b] }
            return a < b
        }
        return order.map { Arrival(index: $0, held: held[$0], outage: outageOf[$0]) }
    }
}
