import Foundation

/// Writes the simulator's answers (dictionaries and arrays of strings, integers, booleans and
/// `NSNull`) as JSON with sorted keys. `JSONSerialization` did the same at a cost that mattered:
/// bridging every dictionary and sorting keys with locale-aware comparisons was 78% of the
/// simulator's CPU in the throughput benchmark, where it shares the machine with the code measured.
/// Anything else falls back to `JSONSerialization`.
enum SimJSON {
    static func data(_ object: Any) -> Data {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(512)
        if write(object, into: &bytes) { return Data(bytes) }
        return (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
    }

    /// Appends `value`; false when it holds a type this writer does not know.
    private static func write(_ value: Any, into bytes: inout [UInt8]) -> Bool {
        switch value {
        case let string as String:
            writeString(string, into: &bytes)
        case let bool as Bool:
            bytes.append(contentsOf: Array((bool ? "true" : "false").utf8))
        case let integer as Int:
            bytes.append(contentsOf: Array(String(integer).utf8))
        case let integer as Int64:
            bytes.append(contentsOf: Array(String(integer).utf8))
        case is NSNull:
            bytes.append(contentsOf: Array("null".utf8))
        case let dictionary as [String: Any]:
            bytes.append(UInt8(ascii: "{"))
            for (index, key) in dictionary.keys.sorted().enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                writeString(key, into: &bytes)
                bytes.append(UInt8(ascii: ":"))
                guard write(dictionary[key]!, into: &bytes) else { return false }
            }
            bytes.append(UInt8(ascii: "}"))
        case let array as [Any]:
            bytes.append(UInt8(ascii: "["))
            for (index, element) in array.enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                guard write(element, into: &bytes) else { return false }
            }
            bytes.append(UInt8(ascii: "]"))
        default:
            return false
        }
        return true
    }

    private static func writeString(_ string: String, into bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "\""))
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: Array("\\u00".utf8))
                bytes.append(hex[Int(byte >> 4)])
                bytes.append(hex[Int(byte & 0x0F)])
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}
