// CaptureCore
