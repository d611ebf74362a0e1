import SQLiteSupport

/// Backfill rows go in with one multi-row `INSERT … VALUES (…), (…), …` per run of up to 64
/// events instead of one statement per row (issue 16): the import path commits thousands of
/// rows a second, and each statement's step, reset and binding clean-up cost SQLite about as
/// much as storing the row. The rows, their columns and their `seq`s are those the single-row
/// insert writes (a test compares both, row by row).
extension OutboxStore {
    /// Statement sizes a run is split into, largest first: a run of 65 rows is one statement of
    /// 64 and the single-row one. Four statements at most stay prepared, not one per count.
    static let backfillRowsPerStatement = [64, 16, 4, 1]

    /// The seven columns one row binds, in statement order.
    private static let columnsPerRow = 7

    /// Inserts `events[rows]` into the backfill lane as `firstSeq`, `firstSeq + 1`, …, in
    /// order, with as few statements as ``backfillRowsPerStatement`` allows (at most
    /// ``maximumBackfillRowsPerStatement`` rows each). Forgets must not be among them: they go
    /// to the live lane, one by one.
    func insertBackfill(_ events: [ValidatedEvent], rows: Range<Int>, firstSeq: Int64, receivedAt: Int64) throws(SQLiteError) {
        var start = rows.lowerBound
        while start < rows.upperBound {
            let remaining = rows.upperBound - start
            let count = Self.backfillRowsPerStatement.first { $0 <= remaining && $0 <= maximumBackfillRowsPerStatement } ?? 1
            let statement = try backfillStatement(rows: count)
            defer { statement.clearBindings() }
            try bind(row: 0, of: start..<(start + count), from: events, to: statement, firstSeq: firstSeq + Int64(start - rows.lowerBound), receivedAt: receivedAt)
            backfillStatementsRun += 1
            start += count
        }
    }

    /// Binds row `row` of `slice`, then (inside the scope that keeps its bytes alive) the next
    /// one, and steps the statement once all are bound: the texts are bound without copies,
    /// so every row's bytes must stay valid until the step; recursion keeps each row's scope
    /// open (64 frames at most).
    private func bind(
        row: Int, of slice: Range<Int>, from events: [ValidatedEvent], to statement: SQLiteStatement, firstSeq: Int64, receivedAt: Int64
    ) throws(SQLiteError) {
        let index = slice.lowerBound + row
        guard index < slice.upperBound else {
            try statement.step()
            return
        }
        let base = Int32(row * Self.columnsPerRow)
        try statement.bind(events[index].kind.rawValue, at: base + 1)
        try statement.bind(events[index].body.count, at: base + 5)
        try statement.bind(receivedAt, at: base + 6)
        try statement.bind(firstSeq + Int64(row), at: base + 7)
        let result: Result<Void, SQLiteError> = events[index].withStoredColumns { eventID, userID, body in
            do throws(SQLiteError) {
                try statement.bindTextNoCopy(eventID, at: base + 2)
                if let userID {
                    try statement.bindTextNoCopy(userID, at: base + 3)
                } else {
                    try statement.bindNull(at: base + 3)
                }
                try statement.bindTextNoCopy(body, at: base + 4)
                try bind(row: row + 1, of: slice, from: events, to: statement, firstSeq: firstSeq, receivedAt: receivedAt)
                return .success(())
            } catch {
                return .failure(error)
            }
        }
        try result.get()
    }

    /// The prepared insert of `rows` backfill rows, prepared on first use and kept.
    ///
    /// `OR ROLLBACK`: a plain multi-row insert may fail after some of its rows, so SQLite keeps
    /// a statement journal for it, a temporary file opened, written (a copy of every page the
    /// statement touches) and removed by each statement: 4,700 `pwrite`s for 20,000 lines
    /// instead of 1,584 (strace). Any failure of this insert fails the whole group commit
    /// anyway (the writer rolls the transaction back and answers every line with the error),
    /// so rolling back the transaction at once is the same outcome, without the journal.
    private func backfillStatement(rows: Int) throws(SQLiteError) -> SQLiteStatement {
        if let statement = backfillInsertStatements[rows] { return statement }
        let values = Array(repeating: "(?, ?, ?, ?, ?, ?, ?)", count: rows).joined(separator: ", ")
        let statement = try connection.prepare("INSERT OR ROLLBACK INTO events(kind, event_id, user_id, body, bytes, received_at, seq) VALUES \(values)")
        backfillInsertStatements[rows] = statement
        return statement
    }
}
