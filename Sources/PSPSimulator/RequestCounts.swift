import Synchronization

/// How many PSP requests (not control API ones) the simulator has answered, by method: what one
/// capture costs in round trips, seen from the PSP's side.
public final class RequestCounts: Sendable {
    private let gets = Atomic<Int>(0)
    private let posts = Atomic<Int>(0)

    init() {}

    /// GET requests answered so far.
    public var get: Int { self.gets.load(ordering: .relaxed) }
    /// POST requests answered so far (Bambora token requests included).
    public var post: Int { self.posts.load(ordering: .relaxed) }
    /// Every PSP request answered so far.
    public var total: Int { self.get + self.post }

    func count(post: Bool) {
        if post {
            self.posts.add(1, ordering: .relaxed)
        } else {
            self.gets.add(1, ordering: .relaxed)
        }
    }
}
