/// An ISO 4217 currency, with the number of digits of its minor unit.
public struct Currency: Hashable, Sendable, CustomStringConvertible {
    /// The three-letter alphabetic code, upper case (`EUR`, `SEK`).
    public let code: String
    /// Digits after the decimal separator: 2 for EUR, 0 for JPY, 3 for KWD.
    public let minorUnitDigits: Int

    /// The currency for an ISO 4217 code, or nil when the code is not an active ISO 4217 currency.
    /// Codes are matched exactly: `eur` is not `EUR`.
    public init?(code: some StringProtocol) {
        guard code.utf8.count == 3, let digits = Currency.table[String(code)] else { return nil }
        self.code = String(code)
        self.minorUnitDigits = digits
    }

    public var description: String { code }

    /// Active ISO 4217 codes that have a minor unit other than 2 digits.
    private static let exceptions: [String: Int] = [
        "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
        "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
        "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
        "CLF": 4, "UYW": 4,
    ]

    /// Active ISO 4217 currency codes (list one, funds included, precious metals and testing codes
    /// excluded: nobody captures a card payment in them).
    private static let codes: [String] = """
        AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL BSD BTN BWP \
        BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR \
        FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES \
        KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR \
        MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF \
        SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS \
        UAH UGX USD USN UYI UYU UYW UZS VED VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG
        """.split(separator: " ").map(String.init)

    private static let table: [String: Int] = Dictionary(
        uniqueKeysWithValues: codes.map { ($0, exceptions[$0] ?? 2) }
    )
}
