import CaptureStore
import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresNIO

/// A small bounded set of connections, handed to one transaction at a time. A caller waits up to
/// `waitLimit` for a free one; a connection found closed (server restart, failover, network) is
/// dropped and a new one opened in its place on the next checkout.
final class ConnectionPool: @unchecked Sendable {
    let location: PostgresLocation
    let maximum: Int
    let waitLimit: TimeInterval
    let group: MultiThreadedEventLoopGroup
    let logger: Logger
    private let configuration: PostgresConnection.Configuration

    // Guarded by `condition`.
    private let condition = NSCondition()
    private var idle: [PostgresConnection] = []
    private var open = 0
    private var closed = false
    private var nextID = 0

    init(
        location: PostgresLocation, maximum: Int, waitLimit: TimeInterval, group: MultiThreadedEventLoopGroup,
        stuckTransactionLimit: Duration = .seconds(60), logger: Logger
    ) throws(StoreError) {
        self.location = location
        self.maximum = max(1, maximum)
        self.waitLimit = waitLimit
        self.group = group
        self.logger = logger
        configuration = try ConnectionPool.configuration(
            for: location, stuckTransactionLimit: stuckTransactionLimit)
    }

    static func configuration(for location: PostgresLocation, stuckTransactionLimit: Duration = .seconds(60))
        throws(StoreError) -> PostgresConnection.Configuration
    {
        var configuration: PostgresConnection.Configuration
        switch location.endpoint {
        case .tcp(let host, let port):
            let tls: PostgresConnection.Configuration.TLS
            do {
                switch location.tls {
                case .disable: tls = .disable
                case .prefer: tls = .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
                case .require: tls = .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
                }
            } catch {
                throw StoreError(
                    .cannotOpen, "cannot set up TLS (\(error)); check the system's trust store",
                    path: location.description)
            }
            configuration = .init(
                host: host, port: port, username: location.user, password: location.password,
                database: location.databaseName, tls: tls)
        case .unixSocket(let directory, let port):
            configuration = .init(
                unixSocketPath: "\(directory)/.s.PGSQL.\(port)", username: location.user,
                password: location.password, database: location.databaseName)
        }
        configuration.options.connectTimeout = .seconds(5)
        configuration.options.additionalStartupParameters = [
            ("application_name", "captured"),
            // Instants are epoch milliseconds in BIGINT columns; UTC keeps any SQL-side date math stable.
            ("TimeZone", "UTC"),
            // SQLite's busy timeout: a writer waits this long for the write lock, then `.busy`.
            ("lock_timeout", "\(Int(PostgresStoreDatabase.lockTimeout * 1000))"),
            // A session stuck inside a transaction (a process stopped or cut off mid-write) releases
            // its locks, the write lock and the leader row, after this: a frozen leader must not keep
            // a standby from taking over (the daemon passes a limit well inside `ha.takeover`).
            (
                "idle_in_transaction_session_timeout",
                "\(max(1, stuckTransactionLimit.components.seconds * 1000 + stuckTransactionLimit.components.attoseconds / 1_000_000_000_000_000))"
            ),
        ]
        return configuration
    }

    /// A connection for one transaction; give it back with `checkin`.
    func checkout() throws(StoreError) -> PostgresConnection {
        let deadline = Date(timeIntervalSinceNow: waitLimit)
        condition.lock()
        while true {
            if closed {
                condition.unlock()
                throw StoreError(.other, "the database was closed", path: location.description)
            }
            while let connection = idle.popLast() {
                if connection.isClosed {
                    open -= 1
                    continue
                }
                condition.unlock()
                return connection
            }
            if open < maximum {
                open += 1
                nextID += 1
                let id = nextID
                condition.unlock()
                do {
                    return try connect(id: id)
                } catch {
                    condition.lock()
                    open -= 1
                    condition.signal()
                    condition.unlock()
                    throw error
                }
            }
            if !condition.wait(until: deadline) {
                condition.unlock()
                throw StoreError(
                    .busy,
                    "all \(maximum) connections stayed busy for \(Int(waitLimit)) s; nothing was done, try again",
                    path: location.description)
            }
        }
    }

    /// Takes a connection back; a broken one (or any after `shutdown`) is closed instead.
    func checkin(_ connection: PostgresConnection, broken: Bool) {
        condition.lock()
        if broken || connection.isClosed || closed {
            open -= 1
            condition.signal()
            condition.unlock()
            connection.close().whenComplete { _ in }
            return
        }
        idle.append(connection)
        condition.signal()
        condition.unlock()
    }

    /// Closes the idle connections; those in use close when they come back.
    func shutdown() {
        condition.lock()
        closed = true
        let connections = idle
        idle.removeAll()
        open -= connections.count
        condition.broadcast()
        condition.unlock()
        for connection in connections { try? connection.close().wait() }
    }

    private func connect(id: Int) throws(StoreError) -> PostgresConnection {
        let future = PostgresConnection.connect(
            on: group.next(), configuration: configuration, id: id, logger: logger)
        do {
            return try future.wait()
        } catch {
            throw StoreError.postgres(error, location: location, connecting: true)
        }
    }
}
