import Testing

@testable import CapturePostgres

@Suite("Splitting a migration into statements")
struct SQLStatementsTests {
    @Test("semicolons in strings, identifiers, comments and function bodies do not split")
    func quotedSemicolons() {
        let sql = """
            -- a comment; with a semicolon
            CREATE TABLE "a;b" (x TEXT DEFAULT 'it''s; fine');
            /* block; /* nested; */ still comment; */
            CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'no; never';
            END;
            $$;
            CREATE FUNCTION g() RETURNS int LANGUAGE sql AS $body$ SELECT 1; $body$;
            SELECT $1;
            -- trailing comment only
            """
        let statements = SQLStatements.split(sql)
        #expect(statements.count == 4)
        #expect(statements[0].hasPrefix("-- a comment; with a semicolon\nCREATE TABLE \"a;b\""))
        #expect(statements[1].contains("RAISE EXCEPTION 'no; never';\nEND;\n$$"))
        #expect(statements[2].hasSuffix("$body$ SELECT 1; $body$"))
        #expect(statements[3].hasSuffix("SELECT $1"))
    }
}
