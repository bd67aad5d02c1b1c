import InspectionCore
import Testing

/// SPEC §4.1: stays become visits.
@Suite struct VisitDetectionTests {
    let factory = Town.at(30, 20)

    @Test func aThirtyMinuteStayIsOneVisitReportedAtMinDwell() {
        var s = Scenario.town()
        s.park("amr-1", at: factory, from: "2025-06-17 09:30", minutes: 30)
        let o = s.run()
        #expect(o.visits.count == 1)
        let v = o.visits[0]
        #expect(v.siteId == "F1")
        #expect(v.enterpriseId == "E-FACTORY")
        #expect(v.agencyId == "AMR")
        #expect(v.start == Town.t("2025-06-17 09:30"))
        #expect(v.end == Town.t("2025-06-17 10:00"))
        #expect(v.durationS == 1800)
        #expect(v.points == 121)
        #expect(v.openedAt == Town.t("2025-06-17 09:35"))
        // the alert is raised when the visit opens, not when the vehicle leaves
        #expect(o.alerts(.unregisteredVisit).map(\.at) == [Town.t("2025-06-17 09:35")])
    }

    @Test func minDwellIsInclusive() {
        var s = Scenario.town()
        s.park("amr-1", at: factory, from: "2025-06-17 09:30", minutes: 5)
        #expect(s.run().visits.count == 1)
        var short = Scenario.town()
        short.park("amr-1", at: factory, from: "2025-06-17 09:30", minutes: 4.75)
        #expect(short.run().visits.isEmpty)
    }

    @Test func joggingAcrossTheFenceKeepsOneVisit() {
        var s = Scenario.town()
        // 20 minutes alternating 1 min inside, 90 s 45 m outside the fence (beyond the margin)
        var t = Town.t("2025-06-17 09:00")
        let end = t + 20 * 60_000
        var inside = true
        while t <= end {
            let phaseEnd = t + (inside ? 60_000 : 90_000)
            while t < phaseEnd && t <= end {
                s.fix("amr-1", t, inside ? factory : Town.at(30, 85))
                t += 10_000
            }
            inside.toggle()
        }
        s.fix("amr-1", t, factory)
        let o = s.run()
        #expect(o.visits(at: "F1").count == 1)
        #expect(o.visits.count == 1)
    }

    @Test func anExcursionLongerThanExitGraceEndsTheStay() {
        var s = Scenario.town()
        s.park("amr-1", at: factory, from: "2025-06-17 09:00", minutes: 10)
        s.park("amr-1", at: Town.at(30, 300), from: "2025-06-17 09:10:15", minutes: 3)
        s.park("amr-1", at: factory, from: "2025-06-17 09:13:30", minutes: 10)
        let o = s.run()
        #expect(o.visits(at: "F1").count == 2)
        #expect(o.visits[0].end == Town.t("2025-06-17 09:10"))
        #expect(o.visits[1].start == Town.t("2025-06-17 09:13:30"))
    }

    @Test func aDriveByMakesNoVisit() {
        var s = Scenario.town()
        s.drive("amr-1", from: Town.at(-2000, 10), to: Town.at(2000, 10), start: Town.t("2025-06-17 09:00"), kmh: 50, every: 5)
        let o = s.run()
        #expect(o.visits.isEmpty)
        #expect(o.alerts.isEmpty)
    }

    @Test func aThreeMinuteWaitAtALightBesideTheSiteMakesNoVisit() {
        var s = Scenario.town()
        let start = Town.t("2025-06-17 09:00")
        let light = Town.at(30, 55)  // on the road 15 m north of the fence
        let arrive = s.drive("amr-1", from: Town.at(-1000, 55), to: light, start: start)
        var t = arrive + 5000
        while t < arrive + 180_000 { s.fix("amr-1", t, light); t += 5000 }
        s.drive("amr-1", from: light, to: Town.at(1000, 55), start: arrive + 180_000)
        #expect(s.run().visits.isEmpty)
    }

    @Test func aTrackerAsleepNinetyMinutesInsideASiteIsOneVisitAndNotSilent() {
        var s = Scenario.town()
        s.park("amr-1", at: factory, from: "2025-06-17 09:00", minutes: 2)
        s.park("amr-1", at: factory, from: "2025-06-17 10:32", minutes: 3)
        s.drive("amr-1", from: factory, to: Town.at(3000, 0), start: Town.t("2025-06-17 10:35:10"))
        let o = s.run()
        #expect(o.visits.count == 1)
        #expect(o.visits[0].durationS == 5710)  // the drive's first fix is still at the gate
        #expect(o.alerts(.trackerSilent).isEmpty)
    }

    @Test func aGapLongerThanMaxGapEndsTheStay() {
        var s = Scenario.town()
        s.park("amr-1", at: factory, from: "2025-06-17 09:00", minutes: 10)
        s.park("amr-1", at: factory, from: "2025-06-17 11:11", minutes: 10)
        let o = s.run()
        #expect(o.visits.count == 2)
        #expect(o.visits[0].end == Town.t("2025-06-17 09:10"))
    }

    @Test func parkedAtTheGateTenMetresOutsideIsAVisit() {
        var s = Scenario.town()
        s.park("amr-1", at: Town.at(30, -10), from: "2025-06-17 09:00", minutes: 20)
        let o = s.run()
        #expect(o.visits.map(\.siteId) == ["F1"])
    }

    @Test func parkedFortyMetresOutsideIsNoVisit() {
        var s = Scenario.town()
        s.park("amr-1", at: Town.at(30, -40), from: "2025-06-17 09:00", minutes: 20)
        #expect(s.run().visits.isEmpty)
    }

    @Test func twoSitesTwentyMetresApartGoToTheNearest() {
        var s = Scenario.town()
        // between the factory (x ≤ 60) and the workshop (x ≥ 80): 7 m from the workshop, 13 m from the factory
        s.park("amr-1", at: Town.at(73, 10), from: "2025-06-17 09:00", minutes: 20)
        s.park("env-1", at: Town.at(65, 10), from: "2025-06-17 09:00", minutes: 20)
        let o = s.run()
        #expect(o.visits.first { $0.vehicleId == "amr-1" }?.siteId == "W1")
        #expect(o.visits.first { $0.vehicleId == "env-1" }?.siteId == "F1")
    }

    @Test func anOpenStayKeepsItsSiteWhenAnotherIsNearer() {
        var s = Scenario.town()
        s.park("amr-1", at: Town.at(55, 10), from: "2025-06-17 09:00", minutes: 10)
        // drifts to 5 m from the workshop, still within the factory's margin (17 m): stays with F1
        s.park("amr-1", at: Town.at(75, 10), from: "2025-06-17 09:10:15", minutes: 10)
        let o = s.run()
        #expect(o.visits.map(\.siteId) == ["F1"])
        #expect(o.visits[0].start == Town.t("2025-06-17 09:00"))
        #expect(o.visits[0].end == Town.t("2025-06-17 09:20:15"))
    }

    @Test func leavingForTheNextDoorSiteStartsItsStayAtTheFirstPositionThere() {
        var s = Scenario.town()
        s.park("amr-1", at: Town.at(10, 10), from: "2025-06-17 09:00", minutes: 10)
        s.park("amr-1", at: Town.at(95, 10), from: "2025-06-17 09:10:15", minutes: 10)
        let o = s.run()
        #expect(o.visits.map(\.siteId) == ["F1", "W1"])
        #expect(o.visits[1].start == Town.t("2025-06-17 09:10:15"))
        #expect(o.visits[0].end == Town.t("2025-06-17 09:10"))
    }

    @Test func aCircularSiteCountsItsRadiusAndTheMargin() {
        var s = Scenario.town()
        s.park("amr-1", at: Town.at(-500 + 50, 0), from: "2025-06-17 09:00", minutes: 10)
        s.park("env-1", at: Town.at(-500 + 60, 0), from: "2025-06-17 09:00", minutes: 10)
        let o = s.run()
        #expect(o.visits.map(\.vehicleId) == ["amr-1"])
    }

    @Test func visitIdsAreStableForTheSameInput() {
        var s = Scenario.town()
        s.park("amr-1", at: factory, from: "2025-06-17 09:30", minutes: 30)
        s.park("env-1", at: factory, from: "2025-06-18 09:30", minutes: 30)
        let a = s.run(), b = s.run()
        #expect(a.visits == b.visits)
        #expect(a.alerts == b.alerts)
        #expect(Set(a.visits.map(\.visitId)).count == 2)
    }

    @Test func unsortedInputGivesTheSameResult() {
        var s = Scenario.town()
        s.inspect("amr-1", from: "2025-06-17 09:30")
        s.inspect("env-1", from: "2025-06-17 10:30")
        let sorted = s.run()
        s.positions.reverse()
        let reversed = s.run()
        #expect(sorted.visits == reversed.visits)
        #expect(sorted.alerts == reversed.alerts)
        #expect(sorted.visits.count == 2)
    }
}
