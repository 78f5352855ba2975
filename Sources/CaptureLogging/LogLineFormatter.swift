import Logging

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Turns one log event into one line (without the trailing newline): redacted, escaped, with
/// metadata keys in a stable order.
struct LogLineFormatter: Sendable {
    /// Keys the line itself uses; metadata under these names is printed as `meta.<key>`.
    private var reservedKeys: Set<String> {
        self.options.includeSourceLocation
            ? ["ts", "level", "msg", "source", "file"] : ["ts", "level", "msg"]
    }

    let options: LogLineOptions
    let secrets: SecretRegistry

    func format(_ event: LogEvent, metadata: Logger.Metadata, at date: Date) -> String {
        let message = self.clean(event.message.description)
        let entries = self.entries(metadata: metadata, error: event.error)
        let prefix = self.options.journalPriorityPrefix ? event.level.journalPriorityPrefix : ""
        let timestamp = self.options.includeTimestamp ? Timestamp.rfc3339(date) : nil
        let location =
            self.options.includeSourceLocation
            ? (source: event.source, file: "\(event.file):\(event.line)") : nil

        switch self.options.format {
        case .logfmt:
            var fields: [String] = []
            if let timestamp { fields.append("ts=" + timestamp) }
            fields.append("level=" + event.level.rawValue)
            fields.append("msg=" + LineEscaping.logfmtValue(message))
            for (key, value) in entries {
                self.appendLogfmt(key: key, value: value, to: &fields)
            }
            if let location {
                fields.append("source=" + LineEscaping.logfmtValue(location.source))
                fields.append("file=" + LineEscaping.logfmtValue(location.file))
            }
            return prefix + fields.joined(separator: " ")
        case .json:
            var members: [String] = []
            if let timestamp { members.append("\"ts\":\"\(timestamp)\"") }
            members.append("\"level\":\"\(event.level.rawValue)\"")
            members.append("\"msg\":" + LineEscaping.jsonString(message))
            for (key, value) in entries {
                members.append(self.jsonMember(key: key, value: value))
            }
            if let location {
                members.append("\"source\":" + LineEscaping.jsonString(location.source))
                members.append("\"file\":" + LineEscaping.jsonString(location.file))
            }
            return prefix + "{" + members.joined(separator: ",") + "}"
        }
    }

    /// A message or value as printed: secrets redacted first (so a cut can never expose part of
    /// one), then cut to `maximumValueBytes` on a character boundary.
    private func clean(_ text: String) -> String {
        let redacted = self.secrets.redact(text)
        let limit = self.options.maximumValueBytes
        guard redacted.utf8.count > limit else { return redacted }
        let marker = "…[truncated]"
        var kept = 0
        var end = redacted.startIndex
        for index in redacted.indices {
            let size = redacted[index].utf8.count
            if kept + size > limit - marker.utf8.count { break }
            kept += size
            end = redacted.index(after: index)
        }
        return String(redacted[..<end]) + marker
    }

    /// Metadata plus the attached error, keys redacted and sorted, reserved names moved aside.
    private func entries(metadata: Logger.Metadata, error: (any Error)?) -> [(String, Logger.MetadataValue)] {
        var merged = metadata
        if let error {
            // The SLG-0003 convention; explicit metadata of the same name wins.
            if merged["error.message"] == nil { merged["error.message"] = .string("\(error)") }
            if merged["error.type"] == nil {
                merged["error.type"] = .string(String(reflecting: type(of: error)))
            }
        }
        let reserved = self.reservedKeys
        return merged.map { key, value in
            let key = self.secrets.redact(key)
            return (reserved.contains(key) ? "meta." + key : key, value)
        }
        .sorted { $0.0 < $1.0 }
    }

    /// Nested dictionaries become `parent.child=…` (children sorted), arrays `parent.0=…`, empty ones
    /// `{}` and `[]`.
    private func appendLogfmt(key: String, value: Logger.MetadataValue, to fields: inout [String]) {
        switch value {
        case .string(let string):
            fields.append(
                LineEscaping.logfmtKey(key) + "=" + LineEscaping.logfmtValue(self.clean(string)))
        case .stringConvertible(let convertible):
            let string = self.clean(convertible.description)
            fields.append(LineEscaping.logfmtKey(key) + "=" + LineEscaping.logfmtValue(string))
        case .dictionary(let dictionary):
            guard !dictionary.isEmpty else {
                fields.append(LineEscaping.logfmtKey(key) + "={}")
                return
            }
            for (childKey, child) in dictionary.sorted(by: { $0.key < $1.key }) {
                self.appendLogfmt(key: key + "." + self.secrets.redact(childKey), value: child, to: &fields)
            }
        case .array(let array):
            guard !array.isEmpty else {
                fields.append(LineEscaping.logfmtKey(key) + "=[]")
                return
            }
            for (index, element) in array.enumerated() {
                self.appendLogfmt(key: key + "." + String(index), value: element, to: &fields)
            }
        }
    }

    private func jsonMember(key: String, value: Logger.MetadataValue) -> String {
        LineEscaping.jsonString(key) + ":" + self.jsonValue(value)
    }

    /// Nested dictionaries stay objects (keys sorted) and arrays stay arrays; integers, finite
    /// floating-point numbers and booleans given as `.stringConvertible` are JSON numbers/booleans.
    private func jsonValue(_ value: Logger.MetadataValue) -> String {
        switch value {
        case .string(let string):
            return LineEscaping.jsonString(self.clean(string))
        case .stringConvertible(let convertible):
            let description = convertible.description
            let redacted = self.clean(description)
            if redacted == description, Self.isJSONLiteral(convertible) {
                return description
            }
            return LineEscaping.jsonString(redacted)
        case .dictionary(let dictionary):
            let members = dictionary.sorted(by: { $0.key < $1.key }).map { key, child in
                self.jsonMember(key: self.secrets.redact(key), value: child)
            }
            return "{" + members.joined(separator: ",") + "}"
        case .array(let array):
            return "[" + array.map { self.jsonValue($0) }.joined(separator: ",") + "]"
        }
    }

    private static func isJSONLiteral(_ value: any CustomStringConvertible & Sendable) -> Bool {
        switch value {
        case is Bool, is any BinaryInteger: return true
        case let double as Double: return double.isFinite
        case let float as Float: return float.isFinite
        default: return false
        }
    }
}
