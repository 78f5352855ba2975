import Foundation
import GRDB

/// A database problem, said so that an operator knows what to do. Kept apart from command errors:
/// these are about the file, not about an authorization.
public struct StoreError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: Hashable, Sendable {
        /// The file does not exist (and the command does not create it).
        case missing
        /// It cannot be opened or is not a captured database.
        case cannotOpen
        /// Written by a newer version of captured.
        case newerSchema
        /// Migrations are pending (run `captured migrate`).
        case outdatedSchema
        /// Another process held the write lock past the busy timeout.
        case busy
        /// The disk or the database's page budget is full.
        case full
        /// The file or its directory is read-only.
        case readOnly
        /// The file is damaged.
        case corrupt
        /// Any other SQLite error.
        case other
    }

    public var code: Code
    public var message: String
    public var path: String

    public init(_ code: Code, _ message: String, path: String) {
        self.code = code
        self.message = message
        self.path = path
    }

    public var description: String { "database \(path): \(message)" }

    /// Classifies an error thrown by GRDB/SQLite.
    static func from(_ error: any Error, path: String) -> StoreError {
        if let store = error as? StoreError { return store }
        guard let database = error as? DatabaseError else {
            return StoreError(.other, String(describing: error), path: path)
        }
        let detail = database.message ?? "SQLite error \(database.resultCode.rawValue)"
        // "unable to open database file" and "disk I/O error" hide the usual causes: say which.
        if [.SQLITE_CANTOPEN, .SQLITE_IOERR, .SQLITE_READONLY].contains(database.resultCode),
            let problem = filesystemProblem(path: path, detail: detail)
        {
            return problem
        }
        switch database.resultCode {
        case .SQLITE_BUSY, .SQLITE_LOCKED:
            return StoreError(
                .busy,
                "the database is locked by another process (\(detail)); nothing was written, try again",
                path: path)
        case .SQLITE_FULL:
            return StoreError(
                .full, "the disk is full (\(detail)); nothing was written, free space and try again",
                path: path)
        case .SQLITE_READONLY, .SQLITE_PERM, .SQLITE_AUTH:
            return StoreError(
                .readOnly,
                "the database is read-only (\(detail)); check the file's and its directory's permissions",
                path: path)
        case .SQLITE_CORRUPT, .SQLITE_NOTADB:
            return StoreError(
                .corrupt,
                "the file is damaged or not a SQLite database (\(detail)); restore it from a backup",
                path: path)
        case .SQLITE_CANTOPEN:
            return StoreError(
                .cannotOpen,
                "cannot open the file (\(detail)); check that its directory exists and is writable",
                path: path)
        default:
            return StoreError(.other, detail, path: path)
        }
    }

    /// A read-only filesystem, file or directory, or a full disk, found by looking at the file.
    static func filesystemProblem(path: String, detail: String) -> StoreError? {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        var filesystem = statvfs()
        if statvfs(directory, &filesystem) == 0 {
            if filesystem.f_flag & UInt(ST_RDONLY) != 0 {
                return StoreError(
                    .readOnly,
                    "the database is read-only: its filesystem is mounted read-only (\(detail)); remount it read-write",
                    path: path)
            }
            if UInt64(filesystem.f_bavail) * UInt64(filesystem.f_bsize) < 64 * 1024 {
                return StoreError(
                    .full,
                    "the disk is full: no space left on the database's filesystem (\(detail)); nothing was written, free space and try again",
                    path: path)
            }
        }
        if FileManager.default.fileExists(atPath: path) && access(path, W_OK) != 0 {
            return StoreError(
                .readOnly,
                "the database is read-only: the file is not writable by this user (\(detail)); check its permissions",
                path: path)
        }
        if FileManager.default.fileExists(atPath: directory) && access(directory, W_OK) != 0 {
            return StoreError(
                .readOnly,
                "the database is read-only: its directory is not writable, and SQLite creates the -wal and -shm files there (\(detail)); check the directory's permissions",
                path: path)
        }
        return nil
    }
}
