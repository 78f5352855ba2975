// CaptureLogging
