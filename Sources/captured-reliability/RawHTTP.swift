import Foundation

/// One answer read off the socket.
struct RawResponse: Sendable {
    var status: Int
    /// Header names in lower case.
    var headers: [String: String]
    var body: Data

    var contentType: String { headers["content-type"] ?? "" }
}

/// HTTP/1.1 over a Unix socket with plain POSIX calls, so that the suite can send what no client
/// library would (raw control bytes, broken request lines, lying lengths). One keep-alive
/// connection, reopened whenever the server closes it; not thread-safe (one per worker).
final class RawHTTPConnection {
    let socketPath: String
    private var descriptor: Int32 = -1
    private var pending = Data()

    init(socketPath: String) { self.socketPath = socketPath }

    deinit { close() }

    func close() {
        if descriptor >= 0 { Glibc.close(descriptor) }
        descriptor = -1
        pending.removeAll()
    }

    private func open() -> Bool {
        close()
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: socketPath.utf8.prefix(raw.count - 1))
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard connected == 0 else {
            Glibc.close(fd)
            return false
        }
        var timeout = timeval(tv_sec: 20, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        descriptor = fd
        return true
    }

    /// Sends `request` (the whole message, head and body) and reads one answer; nil when the server
    /// closed the connection without answering. A reused connection the server had closed is
    /// reopened once.
    func exchange(_ request: Data, closeAfter: Bool = false) -> RawResponse? {
        defer { if closeAfter { close() } }
        let reused = descriptor >= 0
        if !reused && !open() { return nil }
        if let response = attempt(request) { return response }
        guard reused, open() else { return nil }
        return attempt(request)
    }

    private func attempt(_ request: Data) -> RawResponse? {
        // Write in slices; stop early when the server has already answered (a 413 before the body).
        var offset = 0
        let slice = 64 << 10
        while offset < request.count {
            if offset > 0, readable() { break }
            let end = min(offset + slice, request.count)
            let written = request[offset..<end].withUnsafeBytes {
                send(descriptor, $0.baseAddress, $0.count, 0)
            }
            if written <= 0 { break }
            offset += written
        }
        let response = readResponse()
        if response == nil || response?.headers["connection"]?.lowercased() == "close" { close() }
        return response
    }

    private func readable() -> Bool {
        var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        return poll(&poller, 1, 0) > 0
    }

    /// Reads more bytes into `pending`; false at end of stream or on an error.
    private func fill() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return false }
        pending.append(contentsOf: chunk[0..<count])
        return true
    }

    private func readResponse() -> RawResponse? {
        let separator = Data("\r\n\r\n".utf8)
        var headEnd = pending.range(of: separator)
        while headEnd == nil {
            guard fill() else { return nil }
            headEnd = pending.range(of: separator)
        }
        guard let headEnd else { return nil }
        let head = String(decoding: pending[pending.startIndex..<headEnd.lowerBound], as: UTF8.self)
        pending = Data(pending[headEnd.upperBound...])
        let lines = head.components(separatedBy: "\r\n")
        let statusParts = lines[0].split(separator: " ")
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else { return nil }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...]
                .trimmingCharacters(in: .whitespaces)
        }
        var body = Data()
        if headers["transfer-encoding"]?.lowercased() == "chunked" {
            while true {
                var lineEnd = pending.range(of: Data("\r\n".utf8))
                while lineEnd == nil {
                    guard fill() else { return nil }
                    lineEnd = pending.range(of: Data("\r\n".utf8))
                }
                guard let lineEnd else { return nil }
                let sizeText = String(
                    decoding: pending[pending.startIndex..<lineEnd.lowerBound], as: UTF8.self)
                guard let size = Int(sizeText.split(separator: ";").first ?? "", radix: 16) else {
                    return nil
                }
                pending = Data(pending[lineEnd.upperBound...])
                while pending.count < size + 2 { guard fill() else { return nil } }
                body.append(pending.prefix(size))
                pending = Data(pending.dropFirst(size + 2))
                if size == 0 { break }
            }
        } else {
            let length = Int(headers["content-length"] ?? "0") ?? 0
            while pending.count < length { guard fill() else { return nil } }
            body = Data(pending.prefix(length))
            pending = Data(pending.dropFirst(length))
        }
        return RawResponse(status: status, headers: headers, body: body)
    }
}

/// Sends `requests` over `workers` connections at once (each worker takes every `workers`-th
/// request in order); the answers in the requests' order, nil where the server answered nothing.
func exchangeAll(_ requests: [APIRequest], socketPath: String, workers: Int) async -> [RawResponse?] {
    final class Results: @unchecked Sendable {
        var answers: [RawResponse?]
        let lock = NSLock()
        init(count: Int) { answers = Array(repeating: nil, count: count) }
    }
    let results = Results(count: requests.count)
    await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
        Thread.detachNewThread {
            DispatchQueue.concurrentPerform(iterations: workers) { worker in
                let connection = RawHTTPConnection(socketPath: socketPath)
                var mine: [(Int, RawResponse?)] = []
                for index in stride(from: worker, to: requests.count, by: workers) {
                    mine.append(
                        (
                            index,
                            connection.exchange(requests[index].bytes, closeAfter: requests[index].closeAfter)
                        ))
                }
                results.lock.lock()
                for (index, answer) in mine { results.answers[index] = answer }
                results.lock.unlock()
            }
            done.resume()
        }
    }
    return results.answers
}
