import RelayTestKit
import Testing

/// The kit's generator is SplitMix64 itself (issue 15: two former copies had a wrong
/// multiplier): the first outputs for seed 1234567 are those of the reference implementation
/// (Vigna, splitmix64.c), so a seed printed by a chaos or power-cut run replays anywhere.
@Suite struct SplitMix64Tests {
    @Test func matchesTheReferenceOutputs() {
        var generator = SplitMix64(seed: 1_234_567)
        let outputs = (0..<5).map { _ in generator.next() }
        #expect(
            outputs == [
                6_457_827_717_110_365_317, 3_203_168_211_198_807_973, 9_817_491_932_198_370_423,
                4_593_380_528_125_082_431, 16_408_922_859_458_223_821,
            ])
    }

    @Test func belowStaysInRange() {
        var generator = SplitMix64(seed: 7)
        #expect((0..<1_000).allSatisfy { _ in (0..<3).contains(generator.below(3)) })
    }
}
