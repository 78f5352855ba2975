import Testing

@testable import CapturePostgres

@Suite("One statement for a change's writes")
struct PostgresWriteBatchTests {
    @Test(
        "each statement's parameters are renumbered after the previous ones; the last is the main statement")
    func renumbered() {
        var batch = PostgresWriteBatch()
        batch.add("UPDATE t SET a = $1 WHERE id = $2", [Int64(1), "x"])
        batch.add("INSERT INTO u (a, b) VALUES ($1, $2), ($3, $1)", [Int64(2), Int64(3), Int64(4)])
        batch.add("INSERT INTO v (a) VALUES ($1)", ["y"])
        #expect(
            batch.sql
                == "WITH w0 AS (UPDATE t SET a = $1 WHERE id = $2), w1 AS (INSERT INTO u (a, b) VALUES ($3, $4), ($5, $3)) INSERT INTO v (a) VALUES ($6)"
        )
        #expect(batch.binds.count == 6)
        #expect(PostgresWriteBatch.renumber("$9 $10,$11)", by: 2) == "$11 $12,$13)")
    }
}
