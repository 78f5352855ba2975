import Foundation

/// The wall-clock shifter for section f. libfaketime 0.9.10 (Debian's) empties a Swift program's
/// `CommandLine.arguments` when preloaded, so `captured run --config ...` cannot run under it; this
/// LD_PRELOAD shim, compiled with `cc` at run time, shifts only CLOCK_REALTIME (and gettimeofday,
/// time) by the seconds written in `$CLOCKSHIFT_FILE`, re-read on every call.
enum ClockShift {
    static let source = #"""
        #define _GNU_SOURCE
        #include <dlfcn.h>
        #include <stdio.h>
        #include <stdlib.h>
        #include <sys/time.h>
        #include <time.h>

        /* Shifts the wall clock (CLOCK_REALTIME*, gettimeofday, time) by the number of seconds in the file
           named by $CLOCKSHIFT_FILE, re-read on every call; the monotonic clocks are left alone. */
        static long long offset_seconds(void) {
            const char *path = getenv("CLOCKSHIFT_FILE");
            if (!path) return 0;
            FILE *file = fopen(path, "r");
            if (!file) return 0;
            long long value = 0;
            if (fscanf(file, "%lld", &value) != 1) value = 0;
            fclose(file);
            return value;
        }

        int clock_gettime(clockid_t id, struct timespec *ts) {
            static int (*real)(clockid_t, struct timespec *);
            if (!real) real = (int (*)(clockid_t, struct timespec *))dlsym(RTLD_NEXT, "clock_gettime");
            int result = real(id, ts);
            if (result == 0 && (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE)) ts->tv_sec += offset_seconds();
            return result;
        }

        int gettimeofday(struct timeval *tv, void *tz) {
            struct timespec ts;
            int result = clock_gettime(CLOCK_REALTIME, &ts);
            if (result == 0 && tv) {
                tv->tv_sec = ts.tv_sec;
                tv->tv_usec = ts.tv_nsec / 1000;
            }
            (void)tz;
            return result;
        }

        time_t time(time_t *out) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            if (out) *out = ts.tv_sec;
            return ts.tv_sec;
        }
        """#

    /// Compiles the shim into `directory`; its path, or nil when there is no C compiler.
    static func build(in directory: URL) async throws -> String? {
        let sourceURL = directory.appendingPathComponent("clockshift.c")
        let library = directory.appendingPathComponent("clockshift.so").path
        try source.write(to: sourceURL, atomically: true, encoding: .utf8)
        for compiler in ["/usr/bin/cc", "/usr/bin/gcc", "/opt/swift/usr/bin/clang"]
        where FileManager.default.isExecutableFile(atPath: compiler) {
            let result = try await Proc.run(
                compiler, ["-shared", "-fPIC", "-O2", "-o", library, sourceURL.path, "-ldl"],
                logDirectory: directory)
            if result.status == 0 { return library }
        }
        return nil
    }

    /// Whether `captured --version` still sees its arguments with libfaketime preloaded.
    static func libfaketimeKeepsArguments(binaries: Binaries, directory: URL) async throws -> Bool {
        let result = try await Proc.run(
            binaries.captured, ["--version"],
            environment: Proc.environment(["LD_PRELOAD": ClockJumps.library]),
            logDirectory: directory)
        return !result.output.contains("USAGE:")
    }
}
