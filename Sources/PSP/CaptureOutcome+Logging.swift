import Logging

extension CaptureOutcome {
    /// One debug line per capture: outcome class, HTTP status, PSP error type.
    func log(to logger: Logger) {
        logger.debug("PSP capture outcome", metadata: self.metadata)
    }

    /// Log metadata: outcome class, HTTP status, PSP error type. Never a credential.
    var metadata: Logger.Metadata {
        var metadata: Logger.Metadata = [:]
        switch self {
        case .captured(let receipt):
            metadata["outcome"] = "captured"
            if let id = receipt.transactionID { metadata["psp.transaction"] = "\(id)" }
            if receipt.capturedMoreThanRequested {
                metadata["psp.captured_amount"] = "\(receipt.amount)"
                metadata["requested_amount"] = "\(receipt.requestedAmount)"
            }
        case .refused(let refusal):
            metadata["outcome"] = "refused"
            metadata["psp.refusal"] = "\(refusal.cause.rawValue)"
            if let status = refusal.httpStatus { metadata["http.status"] = "\(status)" }
            if let type = refusal.errorType { metadata["psp.error_type"] = "\(type)" }
            metadata["counts_toward_lock"] = "\(refusal.countsTowardLock)"
        case .transient(let failure):
            metadata["outcome"] = "transient"
            metadata["psp.failure"] = "\(failure.cause.rawValue)"
            if let status = failure.httpStatus { metadata["http.status"] = "\(status)" }
            metadata["counts_toward_lock"] = "\(failure.countsTowardLock)"
        case .unknown(let unknown):
            metadata["outcome"] = "unknown"
            metadata["psp.failure"] = "\(unknown.cause.rawValue)"
            if let status = unknown.httpStatus { metadata["http.status"] = "\(status)" }
        }
        return metadata
    }
}
