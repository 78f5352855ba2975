import Testing

@testable import CaptureDaemon

@Suite("The reconciler's pacer")
struct PacerTests {
    @Test("reads go out in bursts of one window's worth, one sleep per burst, at the average rate")
    func burstsKeepTheRate() async {
        let pacer = Pacer(window: .milliseconds(500))
        let gap = Duration.milliseconds(50)
        let clock = ContinuousClock()
        // The first window's worth (10 slots) goes at once: no sleep.
        let burst = await clock.measure {
            for _ in 0..<9 { await pacer.wait(gap) }
        }
        #expect(burst < .milliseconds(100), "the first window's reads waited \(burst)")
        // Thirty reads in all take about 30 gaps minus the window the pacer ran ahead: 1 s.
        let rest = await clock.measure {
            for _ in 0..<21 { await pacer.wait(gap) }
        }
        #expect(rest >= .milliseconds(900), "thirty reads took \(burst + rest): faster than their slots")
    }
}
