// CaptureConfig
