import Synchronization

/// How many PSP requests (not control API ones) the simulator has answered, by method: what one
/// capture costs in round trips, seen from the PSP's side. With
/// ``PSPSimulatorConfiguration/recordsRequests`` it also keeps every request line, in order.
public final class RequestCounts: Sendable {
    private let gets = Atomic<Int>(0)
    private let posts = Atomic<Int>(0)
    private let records: Bool
    private let lines = Mutex<[String]>([])
    private let requests = Mutex<[RecordedRequest]>([])

    /// One request as it arrived, for tests that check what went over the wire.
    public struct RecordedRequest: Sendable, Hashable {
        public var method: String
        public var path: String
        public var contentType: String?
        public var accept: String?
        /// The body as text (empty for a GET).
        public var body: String
    }

    init(records: Bool) {
        self.records = records
    }

    /// GET requests answered so far.
    public var get: Int { self.gets.load(ordering: .relaxed) }
    /// POST requests answered so far (Bambora token requests included).
    public var post: Int { self.posts.load(ordering: .relaxed) }
    /// Every PSP request answered so far.
    public var total: Int { self.get + self.post }
    /// `"GET /psp/creditcard/payments/…"`, `"POST …/captures"`, … in the order they arrived; empty
    /// unless the simulator was configured to record them.
    public var log: [String] { self.lines.withLock { $0 } }
    /// Every PSP request with its version headers and body, in order; empty unless the simulator
    /// was configured to record them.
    public var recorded: [RecordedRequest] { self.requests.withLock { $0 } }

    func count(
        method: String, path: String, contentType: String? = nil, accept: String? = nil,
        body: @autoclosure () -> String = ""
    ) {
        if method == "POST" {
            self.posts.add(1, ordering: .relaxed)
        } else {
            self.gets.add(1, ordering: .relaxed)
        }
        if self.records {
            self.lines.withLock { $0.append("\(method) \(path)") }
            let recorded = RecordedRequest(
                method: method, path: path, contentType: contentType, accept: accept, body: body())
            self.requests.withLock {
                $0.append(recorded)
            }
        }
    }
}
