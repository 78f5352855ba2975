import Foundation
import NIOCore
import NIOHTTP1

/// Bambora's OAuth2 client-credentials token: fetched on first use, cached, fetched again shortly
/// before `expires_in` runs out or when the API answers 401.
actor BamboraTokenCache {
    private struct Cached {
        var token: String
        /// When to stop using it (already shortened by the refresh margin); `nil` = until a 401.
        var refreshAt: ContinuousClock.Instant?
    }

    private let transport: HTTPTransport
    private let tokenURL: String
    private let basicCredentials: String
    private let formBody: String
    private let registerSecret: (@Sendable (String) -> Void)?
    private var cached: Cached?
    /// How many tokens were fetched, for tests and metrics.
    private(set) var fetchCount = 0

    init(configuration: BamboraConfiguration, transport: HTTPTransport) {
        self.transport = transport
        self.tokenURL = configuration.authURL.trimmingSuffix("/") + "/connect/token"
        self.basicCredentials = Data("\(configuration.clientID):\(configuration.clientSecret)".utf8)
            .base64EncodedString()
        self.formBody =
            "grant_type=client_credentials&scope="
            + PathSegment.encode(configuration.scope)
        self.registerSecret = configuration.registerSecret
    }

    /// A token that is valid now, unless `replacing` names a token the API just rejected.
    func token(replacing rejected: String? = nil) async throws(PSPError) -> String {
        if let cached = self.cached, cached.token != rejected || rejected == nil,
            cached.refreshAt.map({ ContinuousClock.now < $0 }) ?? true
        {
            return cached.token
        }
        if let rejected, self.cached?.token == rejected {
            self.cached = nil
        }
        return try await self.fetch()
    }

    private func fetch() async throws(PSPError) -> String {
        var headers = HTTPHeaders()
        headers.add(name: "Authorization", value: "Basic \(self.basicCredentials)")
        headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        headers.add(name: "Accept", value: "application/json")
        let result = await self.transport.send(
            .POST,
            self.tokenURL,
            headers: headers,
            body: ByteBuffer(string: self.formBody),
            operation: .token
        )
        let exchange: HTTPExchange
        switch result {
        case .success(let value): exchange = value
        case .failure(let failure):
            throw PSPError.tokenUnavailable.with(psp: .bambora, detail: failure.pspError().description)
        }
        self.fetchCount += 1
        guard exchange.isSuccess else {
            let problem = exchange.decode(ProblemDocument.self)
            let base: PSPError =
                exchange.status == 400 || exchange.status == 401 || exchange.status == 403
                ? .unauthorized : .tokenUnavailable
            throw base.with(
                psp: .bambora,
                httpStatus: exchange.status,
                errorType: problem?.name,
                detail: "token endpoint refused"
            )
        }
        guard let document = exchange.decode(BamboraTokenDocument.self), !document.accessToken.isEmpty else {
            throw PSPError.tokenUnavailable.with(
                psp: .bambora, detail: "token endpoint answered without access_token")
        }
        // Registered before any use, so that no log line can carry it unredacted.
        self.registerSecret?(document.accessToken)
        let refreshAt = document.expiresIn.map { seconds -> ContinuousClock.Instant in
            let lifetime = Duration.seconds(max(0, seconds))
            // Refresh a fifth of the lifetime early, at most a minute early.
            let margin = min(lifetime / 5, .seconds(60))
            return ContinuousClock.now + lifetime - margin
        }
        self.cached = Cached(token: document.accessToken, refreshAt: refreshAt)
        return document.accessToken
    }
}

extension String {
    func trimmingSuffix(_ suffix: String) -> String {
        var value = self
        while value.hasSuffix(suffix) { value.removeLast(suffix.count) }
        return value
    }
}
