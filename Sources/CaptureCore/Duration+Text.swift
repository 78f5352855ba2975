/// Durations as the configuration and capture policies write them: `500ms`, `30s`, `15m`, `24h`, `7d`,
/// or combined, largest unit first (`4d18h`, `1h30m`).
extension Duration {
    /// Parses a duration; nil when the text is not one. Units: `d`, `h`, `m`, `s`, `ms`, each at most
    /// once and in that order. Zero is allowed (`0s`); a bare number is not (the unit is required).
    public init?(text: some StringProtocol) {
        let units: [(String, Int64)] = [
            ("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1),
        ]
        var rest = Substring(text)
        var total: Int64 = 0
        var lastUnitIndex = -1
        guard !rest.isEmpty else { return nil }
        while !rest.isEmpty {
            let number = rest.prefix(while: { $0.isASCII && $0.isNumber })
            guard !number.isEmpty, number.count <= 12, let value = Int64(number) else { return nil }
            rest = rest.dropFirst(number.count)
            let unitText = rest.prefix(while: { $0.isASCII && $0.isLetter })
            guard let index = units.firstIndex(where: { $0.0 == unitText }), index > lastUnitIndex else {
                return nil
            }
            lastUnitIndex = index
            rest = rest.dropFirst(unitText.count)
            let (product, overflow) = value.multipliedReportingOverflow(by: units[index].1)
            guard !overflow else { return nil }
            let (sum, overflow2) = total.addingReportingOverflow(product)
            guard !overflow2 else { return nil }
            total = sum
        }
        self = .milliseconds(total)
    }

    /// The duration written the way it is parsed, largest unit first (`4d18h`, `500ms`, `0s`).
    public var text: String {
        var ms = wholeMilliseconds
        if ms == 0 { return "0s" }
        var out = ms < 0 ? "-" : ""
        ms = ms.magnitude > UInt64(Int64.max) ? Int64.max : abs(ms)
        for (unit, size) in [
            ("d", Int64(86_400_000)), ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1),
        ] {
            let count = ms / size
            if count > 0 {
                out += "\(count)\(unit)"
                ms -= count * size
            }
        }
        return out
    }
}
