import Foundation
import Synchronization

/// Mints Swedbank Pay `payeeReference`s: unique per capture attempt, at most 30 characters of
/// `[A-Za-z0-9]`, or exactly 12 digits for merchants that settle themselves.
///
/// Mint one per attempt and store it before sending, so that after a timeout the captures list
/// tells whether that attempt landed.
///
/// Uniqueness never rests on the wall clock running forward, nor on this process's memory alone: a
/// restart after the clock stepped back must not mint again what the previous process minted.
public final class PayeeReferenceGenerator: Sendable {
    public enum Mode: Sendable, Hashable {
        /// Up to 30 (default 30, at least 16) letters and digits: a time prefix in base 36 (for
        /// people reading them; uniqueness does not depend on it), then at least 7 random
        /// characters (21, 125 bits, at the default length).
        case alphanumeric(length: Int = 30)
        /// Exactly 12 digits: a sequence that starts at a random point of the 10¹² numbers when the
        /// generator is made (wrapping around) and counts up by one. Two generators (two runs of the
        /// daemon) collide only when their runs overlap on that circle: the chance is about
        /// (references minted by both) / 10¹², whatever the clock did.
        case twelveDigits
    }

    public let mode: Mode
    /// The next 12-digit value, from a random start.
    private let nextNumber: Mutex<Int64>
    private static let numberSpace: Int64 = 1_000_000_000_000
    private static let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")

    public init(mode: Mode = .alphanumeric()) {
        self.mode = mode
        var generator = SystemRandomNumberGenerator()
        self.nextNumber = Mutex(Int64.random(in: 0..<Self.numberSpace, using: &generator))
    }

    public func next() -> String {
        switch self.mode {
        case .alphanumeric(let length):
            let length = min(30, max(16, length))
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            var prefix = String(now, radix: 36, uppercase: true)
            prefix = String(prefix.suffix(9))
            // Six random bits per character, 62 of the 64 values used (uniform): one system
            // random number serves ten characters, where `Int.random(in:)` asked the kernel for
            // every one (a getrandom call each, inside the daemon's commit).
            var generator = SystemRandomNumberGenerator()
            var reference = prefix
            var count = prefix.count
            var bits: UInt64 = 0
            var available = 0
            while count < length {
                if available < 6 {
                    bits = generator.next()
                    available = 64
                }
                let index = Int(bits & 63)
                bits >>= 6
                available -= 6
                if index < Self.alphabet.count {
                    reference.append(Self.alphabet[index])
                    count += 1
                }
            }
            return reference
        case .twelveDigits:
            let value = self.nextNumber.withLock { next -> Int64 in
                let value = next
                next = (next + 1) % Self.numberSpace
                return value
            }
            let digits = String(value)
            return String(repeating: "0", count: max(0, 12 - digits.count)) + digits
        }
    }

    /// Whether `reference` is acceptable to Swedbank Pay in this mode.
    public func isValid(_ reference: String) -> Bool {
        switch self.mode {
        case .alphanumeric:
            return (1...30).contains(reference.count)
                && reference.unicodeScalars.allSatisfy {
                    $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))
                }
        case .twelveDigits:
            return reference.count == 12 && reference.unicodeScalars.allSatisfy { ("0"..."9").contains($0) }
        }
    }
}
