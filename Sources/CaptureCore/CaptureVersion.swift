/// The version of captured and capturectl, shown by `--version` and in the daemon's heartbeat.
public enum CaptureVersion {
    public static let current = "0.1.0"
}
