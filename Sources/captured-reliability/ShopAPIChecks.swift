import Foundation

/// Judges each answer of section h against what its request must get, and keeps the counts.
struct APIChecks {
    /// Kinds whose 5xx is a known defect of the API, reported to the lead (a note and a figure, not
    /// a violation) until it is fixed; an entry whose kind no longer fails changes nothing.
    /// Request kinds the API is known to answer wrongly (a 5xx counted as a note, not a violation):
    /// none now; a defect found is fixed, not listed.
    static let knownDefects: [String: String] = [:]

    var total = 0
    var malformed = 0
    var byStatus: [Int: Int] = [:]
    var serverErrors = 0
    var knownDefectAnswers: [String: Int] = [:]
    var notProblem = 0
    var wrongStatus = 0
    var fieldNotNamed = 0
    var unanswered = 0
    var replayed = 0
    var otherContentTypeStored = 0
    /// Ids the 2xx answers stored.
    var stored = Set<String>()
    /// Registration requests that stored something (one audit entry each, a batch too).
    var registrations = 0
    /// Commands applied (skip 200, capture 202).
    var commands = 0
    var violations: [String] = []
    var notes: [String] {
        var notes = knownDefectAnswers.sorted { $0.key < $1.key }.map {
            "KNOWN DEFECT (\($0.value) answers): \(Self.knownDefects[$0.key] ?? $0.key)"
        }
        if otherContentTypeStored > 0 {
            notes.append(
                "the API does not look at Content-Type: \(otherContentTypeStored) JSON records sent as text/plain, application/xml, image/png or without a Content-Type were stored (201)"
            )
        }
        if unanswered > 0 {
            notes.append("\(unanswered) malformed HTTP messages were answered by closing the connection")
        }
        return notes
    }

    mutating func violation(_ text: String) {
        if violations.count < 200 { violations.append(text) }
    }

    mutating func judge(_ request: APIRequest, _ answer: RawResponse?) {
        total += 1
        if !request.valid { malformed += 1 }
        guard let answer else {
            if request.malformedHTTP {
                unanswered += 1
            } else {
                violation("\(request.kind): no answer (connection closed)")
            }
            return
        }
        let status = answer.status
        byStatus[status, default: 0] += 1
        let text = String(decoding: answer.body.prefix(300), as: UTF8.self)
        if status >= 500 {
            if Self.knownDefects[request.kind] != nil {
                knownDefectAnswers[request.kind, default: 0] += 1
                return
            }
            serverErrors += 1
            violation("\(request.kind): \(status) \(text)")
            return
        }
        if !request.expect.contains(status) {
            wrongStatus += 1
            violation("\(request.kind): \(status), expected \(request.expect.sorted()): \(text)")
        }
        if (200..<300).contains(status) {
            stored.formUnion(request.registers)
            if status == 201 && !request.registers.isEmpty { registrations += 1 }
            if request.command { commands += 1 }
            if request.kind == "JSON record, other Content-Type" { otherContentTypeStored += 1 }
            return
        }
        guard (400..<500).contains(status) else { return }
        if request.malformedHTTP && status == 400 && answer.body.isEmpty { return }
        guard answer.contentType.hasPrefix("application/problem+json"),
            let problem = (try? JSONSerialization.jsonObject(with: answer.body)) as? [String: Any],
            problem["type"] is String, problem["title"] is String, problem["detail"] is String,
            int64(problem["status"]) == Int64(status)
        else {
            notProblem += 1
            violation(
                "\(request.kind): \(status) is not problem+json with type, title, status, detail: \(answer.contentType) \(text)"
            )
            return
        }
        guard status == 422 else { return }
        let named = (problem["errors"] as? [[String: Any]])?.compactMap { $0["field"] as? String } ?? []
        if named.isEmpty {
            fieldNotNamed += 1
            violation("\(request.kind): 422 without errors[].field: \(text)")
        } else if let fields = request.fields, !named.contains(where: fields.contains) {
            fieldNotNamed += 1
            violation("\(request.kind): 422 names \(named), expected one of \(fields.sorted())")
        }
    }
}
