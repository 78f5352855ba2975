import CaptureCore
import Testing

@Suite("Currency and Money")
struct MoneyTests {
    @Test(
        "ISO 4217 codes carry the digits of their minor unit",
        arguments: [
            ("EUR", 2), ("SEK", 2), ("NOK", 2), ("DKK", 2), ("USD", 2), ("GBP", 2), ("JPY", 0), ("KRW", 0),
            ("ISK", 0), ("CLP", 0), ("KWD", 3), ("BHD", 3), ("TND", 3), ("CLF", 4), ("UYW", 4),
        ] as [(String, Int)])
    func knownCodes(code: String, digits: Int) {
        let currency = Currency(code: code)
        #expect(currency?.code == code)
        #expect(currency?.minorUnitDigits == digits)
        #expect(currency?.description == code)
    }

    @Test(
        "lower case, wrong length, testing and made-up codes are rejected",
        arguments: ["eur", "Eur", "EURO", "EU", "", "XXX", "XTS", "ABC", "XAU", " EUR", "EUR ", "E\u{0}R"])
    func rejectsCodes(code: String) {
        #expect(Currency(code: code) == nil)
    }

    @Test("adding and subtracting in one currency")
    func arithmetic() throws {
        let a = Money(minorUnits: 1250, currency: eur)
        let b = Money(minorUnits: 750, currency: eur)
        #expect(try a.adding(b) == Money(minorUnits: 2000, currency: eur))
        #expect(try a.subtracting(b) == Money(minorUnits: 500, currency: eur))
        #expect(try b.subtracting(a) == Money(minorUnits: -500, currency: eur))
        #expect(try a.adding(.zero(eur)) == a)
    }

    @Test("arithmetic that overflows 64 bits throws instead of trapping or wrapping")
    func overflow() {
        let max = Money(minorUnits: .max, currency: eur)
        let min = Money(minorUnits: .min, currency: eur)
        let one = Money(minorUnits: 1, currency: eur)
        #expect(throws: MoneyError.overflow) { try max.adding(one) }
        #expect(throws: MoneyError.overflow) { try min.subtracting(one) }
        #expect(throws: MoneyError.overflow) { try min.adding(Money(minorUnits: -1, currency: eur)) }
        #expect(throws: MoneyError.overflow) { try Money.zero(eur).subtracting(min) }
        #expect(throws: MoneyError.overflow) { try max.subtracting(Money(minorUnits: -1, currency: eur)) }
        #expect(throws: Never.self) { try max.adding(Money(minorUnits: -1, currency: eur)) }
        #expect(throws: Never.self) { try min.adding(max) }
    }

    @Test("mixing currencies throws and names both")
    func currencyMismatch() {
        let euros = Money(minorUnits: 100, currency: eur)
        let kronor = Money(minorUnits: 100, currency: sek)
        #expect(throws: MoneyError.currencyMismatch(eur, sek)) { try euros.adding(kronor) }
        #expect(throws: MoneyError.currencyMismatch(sek, eur)) { try kronor.subtracting(euros) }
        #expect(MoneyError.currencyMismatch(eur, sek).description == "cannot combine EUR with SEK")
        #expect(MoneyError.overflow.description.contains("overflow"))
    }

    @Test(
        "amounts are shown in major units with the currency's digits",
        arguments: [
            (Int64(1250), "EUR", "12.50 EUR"),
            (5, "EUR", "0.05 EUR"),
            (-5, "SEK", "-0.05 SEK"),
            (-1250, "EUR", "-12.50 EUR"),
            (0, "EUR", "0.00 EUR"),
            (100, "EUR", "1.00 EUR"),
            (1200, "JPY", "1200 JPY"),
            (-1200, "JPY", "-1200 JPY"),
            (1, "KWD", "0.001 KWD"),
            (123_456, "KWD", "123.456 KWD"),
            (12_345, "CLF", "1.2345 CLF"),
            (Int64.max, "EUR", "92233720368547758.07 EUR"),
            (Int64.min, "EUR", "-92233720368547758.08 EUR"),
            (Int64.min, "JPY", "-9223372036854775808 JPY"),
            (Int64.max, "CLF", "922337203685477.5807 CLF"),
        ] as [(Int64, String, String)])
    func description(minorUnits: Int64, code: String, expected: String) throws {
        let currency = try #require(Currency(code: code))
        #expect(Money(minorUnits: minorUnits, currency: currency).description == expected)
    }
}
