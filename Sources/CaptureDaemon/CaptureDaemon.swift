// CaptureDaemon
