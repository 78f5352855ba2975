import CaptureStore

extension PostgresStore: LeaderElectionStore {}
