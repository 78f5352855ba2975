import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// Routes raw request paths (so that a percent-encoded `/` stays inside a Bambora reference).
struct SimulatorResponder: HTTPResponder {
    typealias Context = BasicRequestContext

    let state: SimulatorState
    let latency: Duration

    private struct DroppedConnection: Error {}

    func respond(to request: Request, context: Context) async throws -> Response {
        var request = request
        let body = Data(buffer: try await request.collectBody(upTo: 1 << 20))
        // Latency applies to the PSP routes, not to the control API; so does the request count.
        if request.head.path?.hasPrefix("/_sim/") != true {
            self.state.requests.count(
                method: request.method.rawValue, path: request.head.path ?? "",
                contentType: request.headers[.contentType], accept: request.headers[.accept],
                body: String(decoding: body, as: UTF8.self))
            if self.latency > .zero { try await Task.sleep(for: self.latency) }
        }
        let rawPath = String(request.head.path?.split(separator: "?", maxSplits: 1).first ?? "")
        var reply = await self.reply(request: request, rawPath: rawPath, body: body)
        if let delay = reply.delay {
            // A held `lateLanding` lands on time whether or not this task lives that long (the
            // state applies what is due on its next use).
            try await Task.sleep(for: delay)
        }
        if let ticket = reply.landing {
            reply = await self.state.landingReply(ticket)
        }
        var headers = HTTPFields()
        headers[.contentType] = reply.contentType
        for (name, value) in reply.headers {
            if let name = HTTPField.Name(name) { headers[name] = value }
        }
        let status = HTTPResponse.Status(code: reply.status)
        if reply.drop {
            let partial = ByteBuffer(bytes: reply.body.prefix(max(1, reply.body.count / 3)))
            return Response(
                status: status,
                headers: headers,
                body: ResponseBody(contentLength: reply.body.count + 64) { writer in
                    try await writer.write(partial)
                    throw DroppedConnection()
                }
            )
        }
        return Response(
            status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: reply.body)))
    }

    /// The resources named by `$expand` in the query (`?$expand=transactions,captures`; `%24expand`
    /// too), lower-cased.
    static func expand(_ target: String) -> Set<String> {
        guard let query = target.split(separator: "?", maxSplits: 1).dropFirst().first else { return [] }
        var names: Set<String> = []
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, ["$expand", "%24expand"].contains(parts[0].lowercased()) else { continue }
            for name in parts[1].split(separator: ",") { names.insert(name.lowercased()) }
        }
        return names
    }

    private func reply(request: Request, rawPath: String, body: Data) async -> SimReply {
        let segments = rawPath.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map { $0 }
        let trimmed = segments.last == "" ? Array(segments.dropLast()) : segments
        let method = request.method
        let authorization = request.headers[.authorization]
        let host = request.head.authority ?? "127.0.0.1"

        // Bambora
        if method == .post, trimmed == ["connect", "token"] {
            if let overloaded = await self.state.overloadReply(.bambora) { return overloaded }
            return await self.state.bamboraToken(authorization: authorization)
        }
        if trimmed.count >= 5, trimmed[0] == "v1", trimmed[1] == "merchants", trimmed[3] == "payments" {
            // An overloaded PSP answers every request so; a capture POST is also recorded (below).
            if !(trimmed.count == 6 && method == .post),
                let overloaded = await self.state.overloadReply(.bambora)
            {
                return overloaded
            }
            guard let merchant = PathSegmentDecoder.decode(trimmed[2]),
                let reference = PathSegmentDecoder.decode(trimmed[4])
            else { return .bamboraProblem(400, nil, "Bad request", "Invalid percent-encoding.") }
            let apiVersion = request.headers[HTTPField.Name("API-Version")!]
            if trimmed.count == 5, method == .get {
                return await self.state.bamboraGet(
                    merchant: merchant, reference: reference, authorization: authorization,
                    apiVersion: apiVersion)
            }
            if trimmed.count == 6, trimmed[5] == "capture", method == .post {
                return await self.state.bamboraCapture(
                    merchant: merchant, reference: reference, authorization: authorization,
                    apiVersion: apiVersion, body: body)
            }
            return .bamboraProblem(405, nil, "Method not allowed")
        }

        // Swedbank Pay payment orders: /psp/paymentorders/{id}[/captures|/financialtransactions|...]
        if trimmed.count == 3 || trimmed.count == 4, trimmed[0] == "psp", trimmed[1] == "paymentorders" {
            let isCapture = trimmed.count == 4 && method == .post
            if !isCapture, let overloaded = await self.state.overloadReply(.swedbankpay) { return overloaded }
            return await self.state.paymentOrderReply(
                method: method.rawValue, id: "/" + trimmed[0...2].joined(separator: "/"),
                resource: trimmed.count == 4 ? String(trimmed[3]) : nil, authorization: authorization,
                versionHeaders: [request.headers[.contentType], request.headers[.accept]], host: host,
                body: body)
        }

        // Swedbank Pay: /psp/{resource}/payments/{id}[/captures]
        if trimmed.count >= 4, trimmed[0] == "psp", trimmed[2] == "payments" {
            let id = "/" + trimmed[0...3].joined(separator: "/")
            if !(trimmed.count == 5 && method == .post),
                let overloaded = await self.state.overloadReply(.swedbankpay)
            {
                return overloaded
            }
            if trimmed.count == 4, method == .get {
                return await self.state.swedbankGet(
                    id: id, authorization: authorization, host: host,
                    expand: Self.expand(request.head.path ?? ""))
            }
            if trimmed.count == 5, trimmed[4] == "captures" {
                if method == .get {
                    return await self.state.swedbankCaptures(id: id, authorization: authorization)
                }
                if method == .post {
                    return await self.state.swedbankCapture(id: id, authorization: authorization, body: body)
                }
            }
            return .swedbankProblem(405, String(trimmed[1]), "methodnotallowed", "Method not allowed")
        }

        // Control
        if trimmed.first == "_sim" {
            return await ControlRoutes(state: self.state).reply(
                method: method, path: Array(trimmed.dropFirst()), body: body)
        }
        return .json(404, ["title": "Not found", "status": 404])
    }
}

enum PathSegmentDecoder {
    static func decode(_ segment: Substring) -> String? {
        String(segment).removingPercentEncoding
    }
}

struct ControlRoutes {
    let state: SimulatorState

    func reply(method: HTTPRequest.Method, path: [Substring], body: Data) async -> SimReply {
        let decoder = JSONDecoder()
        let route = path.joined(separator: "/")
        func decode<T: Decodable>(_ type: T.Type) -> T? { try? decoder.decode(type, from: body) }
        let missing = SimReply.json(404, ["error": "no such payment"])
        let bad = SimReply.json(400, ["error": "invalid body for /_sim/\(route)"])

        switch (method, route) {
        case (.post, "payments"):
            guard let create = decode(ControlAPI.CreatePayment.self) else { return bad }
            if let options = create.paymentOrder {
                guard create.psp == .swedbankpay else { return bad }
                let id = await self.state.createPaymentOrder(
                    payment: create.payment, amount: create.amount, currency: create.currency,
                    vatAmount: create.vatAmount ?? 0, options: options)
                return .json(201, ["psp": create.psp.rawValue, "payment": id])
            }
            let id = await self.state.createPayment(
                psp: create.psp,
                payment: create.payment,
                merchant: create.merchant,
                amount: create.amount,
                currency: create.currency,
                vatAmount: create.vatAmount ?? 0
            )
            return .json(201, ["psp": create.psp.rawValue, "payment": id])
        case (.post, "faults"):
            guard let faults = decode(ControlAPI.Faults.self) else { return bad }
            let found = await self.state.injectFaults(
                psp: faults.psp,
                payment: faults.payment,
                enqueue: faults.enqueue ?? [],
                standing: faults.standing,
                clear: faults.clear ?? false
            )
            return found ? .json(200, ["ok": true]) : missing
        case (.post, "back-office/capture"):
            guard let action = decode(ControlAPI.PaymentAction.self) else { return bad }
            let found = await self.state.backOfficeCapture(
                psp: action.psp, payment: action.payment, amount: action.amount)
            return found ? .json(200, ["ok": true]) : missing
        case (.post, "back-office/cancel"):
            guard let action = decode(ControlAPI.PaymentAction.self) else { return bad }
            return await self.state.backOfficeCancel(psp: action.psp, payment: action.payment)
                ? .json(200, ["ok": true]) : missing
        case (.post, "expire"):
            guard let action = decode(ControlAPI.PaymentAction.self) else { return bad }
            return await self.state.expire(psp: action.psp, payment: action.payment)
                ? .json(200, ["ok": true]) : missing
        case (.post, "overload"):
            guard let overload = decode(ControlAPI.Overload.self),
                overload.fault.kind == .rateLimited || overload.fault.kind == .serverError
            else { return bad }
            await self.state.overload(
                psp: overload.psp, fault: overload.fault, for: .milliseconds(overload.milliseconds))
            return .json(200, ["ok": true])
        case (.post, "token-endpoint"):
            guard let toggle = decode(ControlAPI.TokenEndpoint.self) else { return bad }
            await self.state.setTokenEndpointDown(toggle.down)
            return .json(200, ["ok": true])
        case (.post, "revoke-tokens"):
            await self.state.revokeTokens()
            return .json(200, ["ok": true])
        case (.post, "reset"):
            await self.state.reset()
            return .json(200, ["ok": true])
        case (.get, "ledger"):
            let ledger = await self.state.ledger()
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            return SimReply(status: 200, body: (try? encoder.encode(ledger)) ?? Data())
        default:
            return .json(404, ["error": "no such control route /_sim/\(route)"])
        }
    }
}
