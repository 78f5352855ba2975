import CaptureCore
import Foundation
import PSP

/// Translations between the PSP clients' vocabulary and the domain's.
extension CaptureOutcome {
    var attemptOutcome: AttemptOutcome { attemptOutcome(duringPause: false) }

    /// `duringPause`: the PSP's request budget is paused (a 429 or 503): a capture that did not go
    /// out for that reason is no incident of its own — the pause raised `psp_unreachable` once.
    func attemptOutcome(duringPause: Bool) -> AttemptOutcome {
        switch self {
        case .refused(let refusal) where duringPause && !refusal.countsTowardLock:
            return .transient(
                reason: refusal.description, retryAfter: nil, unreachable: false, countsTowardLock: false)
        case .transient(let failure) where duringPause:
            return .transient(
                reason: failure.description, retryAfter: failure.retryAfter, unreachable: false,
                countsTowardLock: failure.countsTowardLock)
        case .captured(let receipt):
            return .captured(
                pspReference: receipt.transactionID ?? receipt.transactionNumber.map(String.init),
                capturedTotal: receipt.capturedAmount, amount: receipt.amount)
        case .refused(let refusal):
            return .refused(
                errorType: refusal.errorType.map { "\(refusal.cause.rawValue) (\($0))" }
                    ?? refusal.cause.rawValue,
                countsTowardLock: refusal.countsTowardLock, needsReconciliation: refusal.needsReconciliation)
        case .transient(let failure):
            let unreachable: Bool
            switch failure.cause {
            case .connectionFailed, .tokenUnavailable, .unavailable, .paymentUnreadable: unreachable = true
            case .rateLimited, .operationBlocked: unreachable = false
            }
            return .transient(
                reason: failure.description, retryAfter: failure.retryAfter, unreachable: unreachable,
                countsTowardLock: failure.countsTowardLock)
        case .unknown(let unknown):
            return .unknown(reason: unknown.description)
        }
    }
}

extension PaymentSnapshot {
    var view: PaymentView {
        let mapped: PaymentView.State
        switch state {
        case .authorized: mapped = .authorized
        case .partiallyCaptured: mapped = .partiallyCaptured
        case .captured: mapped = .captured
        case .cancelled: mapped = .cancelled
        case .expired: mapped = .expired
        case .declined: mapped = .other("declined")
        case .refunded: mapped = .other("refunded")
        case .other(let raw): mapped = .other(raw)
        }
        return PaymentView(
            state: mapped, authorizedAmount: authorizedAmount > 0 ? authorizedAmount : nil,
            capturedAmount: capturedAmount,
            currency: currency.isEmpty ? nil : currency, canCapture: psp == .swedbankPay ? canCapture : nil,
            failedCapturesInARow: psp == .swedbankPay ? failedCapturesInARow : nil)
    }

    /// Swedbank Pay's `Failed` capture transactions after its last `Completed` one, in the order the
    /// PSP lists them (oldest first; pending ones neither count nor break the run): what its
    /// five-failure lock counts.
    var failedCapturesInARow: Int {
        var failed = 0
        for transaction in captures {
            switch transaction.state {
            case .completed: failed = 0
            case .failed: failed += 1
            case .initialized, .awaitingActivity, .other: break
            }
        }
        return failed
    }

    /// What the PSP shows about the payment's captures, as evidence for ``UnknownOutcomeProcedure``.
    var evidence: CaptureEvidence {
        CaptureEvidence(
            echoesReferences: psp == .swedbankPay,
            listsPending: !(psp == .swedbankPay && payment.hasPrefix("/psp/paymentorders/")),
            captures: captures.map { transaction in
                let state: CaptureEvidence.Capture.State
                switch transaction.state {
                case .completed: state = .completed
                case .failed: state = .failed
                case .initialized, .awaitingActivity, .other: state = .pending
                }
                return CaptureEvidence.Capture(
                    id: transaction.id, reference: transaction.reference, amount: transaction.amount,
                    state: state,
                    at: transaction.occurredAt.map {
                        Instant(
                            millisecondsSinceEpoch: Int64(($0.timeIntervalSince1970 * 1000).rounded(.down)))
                    })
            },
            capturedTotal: capturedAmount)
    }
}

extension Authorization {
    var locator: PaymentLocator { PaymentLocator(payment: draft.payment, merchant: draft.merchant) }

    /// The capture call for `amount`: VAT in proportion for a partial capture (Swedbank Pay needs it),
    /// the shop's description or the order id.
    func captureRequest(amount: Int64, reference: String) -> CaptureRequest {
        var vat: Int64 = 0
        if let total = draft.vatAmount, total > 0 {
            if amount == self.amount.minorUnits {
                vat = total
            } else {
                let product = total.multipliedFullWidth(by: amount)
                let (quotient, remainder) = self.amount.minorUnits.dividingFullWidth(product)
                vat = quotient + (remainder * 2 >= self.amount.minorUnits ? 1 : 0)
            }
        }
        let description = draft.description ?? String("Order \(id)".prefix(40))
        return CaptureRequest(
            locator: locator, amount: amount, vatAmount: vat, currency: self.amount.currency.code,
            description: description, reference: reference,
            orderItems: orderItems(forCaptureOf: amount))
    }
}
