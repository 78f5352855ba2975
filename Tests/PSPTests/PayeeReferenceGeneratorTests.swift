import PSP
import Testing

@Suite("payeeReferences")
struct PayeeReferenceGeneratorTests {
    static let letters = Set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")

    @Test("At most 30 of [A-Za-z0-9], unique, every letter and digit used")
    func alphanumeric() {
        let generator = PayeeReferenceGenerator()
        let references = (0..<2_000).map { _ in generator.next() }
        #expect(Set(references).count == references.count)
        #expect(references.allSatisfy { generator.isValid($0) && $0.count == 30 })
        // After the 9-character time prefix, every one of the 62 letters and digits turns up.
        #expect(Set(references.flatMap { $0.dropFirst(9) }) == Self.letters)
        let short = PayeeReferenceGenerator(mode: .alphanumeric(length: 16))
        #expect((0..<100).map { _ in short.next() }.allSatisfy { $0.count == 16 && short.isValid($0) })
        #expect(!generator.isValid("has-dash"))
        #expect(!generator.isValid(String(repeating: "a", count: 31)))
    }

    @Test("12-digit mode: always exactly 12 digits, unique, and valid only as such")
    func twelveDigits() {
        let digits = PayeeReferenceGenerator(mode: .twelveDigits)
        let numbers = (0..<20_000).map { _ in digits.next() }
        #expect(
            numbers.allSatisfy { $0.count == 12 && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) })
        #expect(numbers.allSatisfy(digits.isValid))
        #expect(Set(numbers).count == numbers.count)
        #expect(!digits.isValid("12345678901"))
        #expect(!digits.isValid("12345678901A"))
    }

    /// A restart after the clock stepped back: the new process's generator is made at the very
    /// instant (by the wall clock) the old one was. Neither mode may mint what the other did.
    @Test(
        "Two generators made at the same instant do not collide",
        arguments: [
            PayeeReferenceGenerator.Mode.alphanumeric(), .alphanumeric(length: 16), .twelveDigits,
        ])
    func restartAfterClockStep(_ mode: PayeeReferenceGenerator.Mode) {
        let before = PayeeReferenceGenerator(mode: mode)
        let after = PayeeReferenceGenerator(mode: mode)
        var first = Set<String>()
        var collisions = 0
        for _ in 0..<50_000 { first.insert(before.next()) }
        for _ in 0..<50_000 where first.contains(after.next()) { collisions += 1 }
        #expect(first.count == 50_000)
        #expect(collisions == 0)
    }
}
