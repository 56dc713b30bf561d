package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"katong"
	"katong/ledger"
)

// ledgerTx is one ledger write transaction. It reads through prepared
// statements and buffers what it writes (transactions, entries,
// idempotency records, new balances), then writes each kind with a few
// multi-row statements at the end: a batch of hundreds of transfers costs
// a handful of round trips instead of several per transfer.
type ledgerTx struct {
	tx  *sql.Tx
	db  *DB
	now int64

	// Transaction ids: SQLite has one writer, so ids follow the largest;
	// PostgreSQL hands out ranges of its sequence.
	ids []int64

	txns, entries, records [][]any
	// dirty holds the new balances of the accounts this transaction
	// changed; each is written once, however many postings touched it.
	dirty map[katong.AccountID]*balances
	// known holds idempotency records read ahead (nil: known absent) and
	// those written in this transaction.
	known map[string]*ledger.Record
}

type balances struct {
	booked, held       katong.Amount
	setBooked, setHeld bool
}

func (t *ledgerTx) mark(id katong.AccountID) *balances {
	if t.dirty == nil {
		t.dirty = map[katong.AccountID]*balances{}
	}
	b, ok := t.dirty[id]
	if !ok {
		b = &balances{}
		t.dirty[id] = b
	}
	return b
}

// exec and row run q through the statement warmLedger prepared for the
// database, on the transaction's connection.
func (t *ledgerTx) exec(ctx context.Context, q string, args ...any) error {
	st, err := t.db.cached(ctx, q, 0, func() string { return q })
	if err != nil {
		return err
	}
	_, err = t.tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	return err
}

func (t *ledgerTx) row(ctx context.Context, q string, args ...any) *sql.Row {
	st, err := t.db.cached(ctx, q, 0, func() string { return q })
	if err != nil {
		return t.tx.QueryRowContext(ctx, q, args...) // reports the same error on Scan
	}
	return t.tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
}

func (t *ledgerTx) Account(ctx context.Context, id katong.AccountID) (*katong.Account, error) {
	a, err := scanAccount(t.row(ctx, lockAccountSQL(t.db.Dialect), id))
	if err != nil {
		return nil, notFound(err, "no account %d", id)
	}
	return a, nil
}

// Accounts reads (and on PostgreSQL locks) the accounts with the ids,
// which must be sorted, in a few queries: rows are locked in ascending id
// order. Missing accounts are left out.
func (t *ledgerTx) Accounts(ctx context.Context, ids []katong.AccountID) ([]*katong.Account, error) {
	var out []*katong.Account
	for len(ids) > 0 {
		n := chunkOf(len(ids))
		stmt, err := t.db.cached(ctx, "lock accounts", n, func() string { return lockSQL(t.db.Dialect, n) })
		if err != nil {
			return nil, err
		}
		args := make([]any, n)
		for i, id := range ids[:n] {
			args[i] = id
		}
		ids = ids[n:]
		rows, err := t.tx.StmtContext(ctx, stmt).QueryContext(ctx, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			a, err := scanAccount(rows)
			if err != nil {
				rows.Close()
				return nil, err
			}
			out = append(out, a)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (t *ledgerTx) Hold(ctx context.Context, id int64) (*katong.Hold, error) {
	var h katong.Hold
	var at int64
	err := t.row(ctx, lockHoldSQL(t.db.Dialect), id).Scan(&h.ID, &h.AccountID, &h.Amount, &h.Status, &h.Memo, &at)
	if err != nil {
		return nil, notFound(err, "no hold %d", id)
	}
	h.At = fromMicros(at)
	return &h, nil
}

func recordKey(client, key string) string { return client + "\x00" + key }

// Prefetch reads the idempotency records of the keys in a few queries,
// so that Record needs no round trip.
func (t *ledgerTx) Prefetch(ctx context.Context, keys [][2]string) error {
	if t.known == nil {
		t.known = map[string]*ledger.Record{}
	}
	for len(keys) > 0 {
		n := chunkOf(len(keys))
		chunk := keys[:n]
		keys = keys[n:]
		stmt, err := t.db.cached(ctx, "prefetch records", n, func() string { return prefetchSQL(t.db.Dialect, n) })
		if err != nil {
			return err
		}
		args := make([]any, 0, 2*n)
		for _, k := range chunk {
			args = append(args, k[0], k[1])
			t.known[recordKey(k[0], k[1])] = nil
		}
		rows, err := t.tx.StmtContext(ctx, stmt).QueryContext(ctx, args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var client, key, res string
			r := &ledger.Record{}
			if err := rows.Scan(&client, &key, &r.Fingerprint, &res); err != nil {
				rows.Close()
				return err
			}
			if err := json.Unmarshal([]byte(res), &r.Result); err != nil {
				rows.Close()
				return fmt.Errorf("idempotency record %q: %w", key, err)
			}
			t.known[recordKey(client, key)] = r
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}

func (t *ledgerTx) Record(ctx context.Context, client, key string) (*ledger.Record, error) {
	if r, ok := t.known[recordKey(client, key)]; ok {
		return r, nil
	}
	return record(ctx, rowFunc(t.row), client, key)
}

// nextID returns a new transaction id.
func (t *ledgerTx) nextID(ctx context.Context) (int64, error) {
	if len(t.ids) == 0 {
		if t.db.Dialect.IDs == "" { // one writer: follow the largest id
			var max int64
			if err := t.row(ctx, maxTxnSQL).Scan(&max); err != nil {
				return 0, err
			}
			t.ids = []int64{max + 1}
		} else {
			rows, err := t.tx.QueryContext(ctx, t.db.Dialect.IDs, 64)
			if err != nil {
				return 0, err
			}
			for rows.Next() {
				var id int64
				if err := rows.Scan(&id); err != nil {
					rows.Close()
					return 0, err
				}
				t.ids = append(t.ids, id)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return 0, err
			}
		}
	}
	id := t.ids[0]
	if t.db.Dialect.IDs == "" {
		t.ids[0]++
	} else {
		t.ids = t.ids[1:]
	}
	return id, nil
}

func (t *ledgerTx) Insert(ctx context.Context, x *ledger.Txn, after map[katong.AccountID]katong.Amount) (int64, error) {
	var sum katong.Amount
	for _, p := range x.Postings {
		sum += p.Amount
	}
	if sum != 0 || len(x.Postings) < 2 {
		return 0, fmt.Errorf("transaction %s does not balance: %d over %d postings", x.Kind, sum, len(x.Postings))
	}
	id, err := t.nextID(ctx)
	if err != nil {
		return 0, err
	}
	at := micros(x.At)
	t.txns = append(t.txns, []any{id, x.Kind, x.Client, x.Key, x.Memo, at})
	for _, p := range x.Postings {
		t.entries = append(t.entries, []any{id, p.AccountID, p.Amount, after[p.AccountID], at})
		b := t.mark(p.AccountID)
		b.booked, b.setBooked = after[p.AccountID], true
	}
	t.now = at
	return id, nil
}

func (t *ledgerTx) PutHold(ctx context.Context, h *katong.Hold, held katong.Amount) (int64, error) {
	now := micros(t.db.Now())
	id := h.ID
	if id == 0 {
		if err := t.row(ctx, insertHoldSQL, h.AccountID, h.Amount, h.Status, h.Memo, micros(h.At)).Scan(&id); err != nil {
			return 0, err
		}
	} else if err := t.exec(ctx, updateHoldSQL, h.Status, now, id); err != nil {
		return 0, err
	}
	b := t.mark(h.AccountID)
	b.held, b.setHeld = held, true
	if now > t.now {
		t.now = now
	}
	return id, nil
}

func (t *ledgerTx) PutRecord(ctx context.Context, client, key string, r *ledger.Record) error {
	b, err := json.Marshal(r.Result)
	if err != nil {
		return err
	}
	t.records = append(t.records, []any{client, key, r.Fingerprint, string(b), micros(t.db.Now())})
	if t.known == nil {
		t.known = map[string]*ledger.Record{}
	}
	t.known[recordKey(client, key)] = r
	return nil
}

// flush writes what the transaction buffered.
func (t *ledgerTx) flush(ctx context.Context) error {
	if err := t.db.InsertRows(ctx, t.tx, insertTxns, t.txns); err != nil {
		return err
	}
	if err := t.db.InsertRows(ctx, t.tx, insertEntries, t.entries); err != nil {
		return err
	}
	if err := t.db.InsertRows(ctx, t.tx, insertRecords, t.records); err != nil {
		return err
	}
	var rows [][]any
	for id, b := range t.dirty {
		var booked, held any // NULL keeps the column as it is
		if b.setBooked {
			booked = int64(b.booked)
		}
		if b.setHeld {
			held = int64(b.held)
		}
		rows = append(rows, []any{int64(id), booked, held})
	}
	for len(rows) > 0 {
		n := chunkOf(len(rows))
		stmt, err := t.db.cached(ctx, "update accounts", n, func() string { return updateSQL(t.db.Dialect, n) })
		if err != nil {
			return err
		}
		args := []any{t.now}
		for _, r := range rows[:n] {
			args = append(args, r...)
		}
		if _, err := t.tx.StmtContext(ctx, stmt).ExecContext(ctx, args...); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}

// The statements of a ledger batch, for n rows. They are prepared once
// per database, before any write transaction (warmLedger): preparing on
// the database needs a pool connection, which a transaction holding
// SQLite's write lock must never wait for.

func lockSQL(d Dialect, n int) string {
	var b strings.Builder
	b.WriteString(`SELECT ` + accountCols + ` FROM accounts WHERE id IN (`)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(d.Param(i + 1))
	}
	b.WriteString(`) ORDER BY id` + d.ForUpdate)
	return b.String()
}

func prefetchSQL(d Dialect, n int) string {
	var b strings.Builder
	b.WriteString(`SELECT client, idem_key, fingerprint, result FROM idempotency WHERE (client, idem_key) IN (`)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "(%s, %s)", d.Param(2*i+1), d.Param(2*i+2))
	}
	b.WriteByte(')')
	return b.String()
}

func updateSQL(d Dialect, n int) string {
	var q strings.Builder
	q.WriteString(`UPDATE accounts SET booked = COALESCE(v.column2, accounts.booked), held = COALESCE(v.column3, accounts.held),
			updated_at = ` + d.Param(1) + ` FROM (VALUES `)
	for i := 0; i < n; i++ {
		if i > 0 {
			q.WriteByte(',')
		}
		fmt.Fprintf(&q, "(CAST(%s AS BIGINT), CAST(%s AS BIGINT), CAST(%s AS BIGINT))",
			d.Param(3*i+2), d.Param(3*i+3), d.Param(3*i+4))
	}
	q.WriteString(`) AS v WHERE accounts.id = v.column1`)
	return q.String()
}

func insertSQL(d Dialect, head string, width, n int) string {
	var q strings.Builder
	q.WriteString(head)
	k := 0
	for i := 0; i < n; i++ {
		if i > 0 {
			q.WriteByte(',')
		}
		q.WriteByte('(')
		for j := 0; j < width; j++ {
			if j > 0 {
				q.WriteByte(',')
			}
			k++
			q.WriteString(d.Param(k))
		}
		q.WriteByte(')')
	}
	return q.String()
}

// The multi-row inserts of a batch: head and values per row.
const (
	insertTxns    = `INSERT INTO txns (id, kind, client, idem_key, memo, created_at) VALUES `
	insertEntries = `INSERT INTO entries (txn_id, account_id, amount, balance_after, created_at) VALUES `
	insertRecords = `INSERT INTO idempotency (client, idem_key, fingerprint, result, created_at) VALUES `
)

var inserts = []struct {
	head  string
	width int
}{{insertTxns, 6}, {insertEntries, 5}, {insertRecords, 5}}

// The one-row statements of a ledger transaction.
const (
	maxTxnSQL     = `SELECT COALESCE(MAX(id), 0) FROM txns`
	insertHoldSQL = `INSERT INTO holds (account_id, amount, status, memo, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $5) RETURNING id`
	updateHoldSQL = `UPDATE holds SET status = $1, updated_at = $2 WHERE id = $3`
	recordSQL     = `SELECT fingerprint, result FROM idempotency WHERE client = $1 AND idem_key = $2`
)

func lockAccountSQL(d Dialect) string {
	return `SELECT ` + accountCols + ` FROM accounts WHERE id = $1` + d.ForUpdate
}

func lockHoldSQL(d Dialect) string {
	return `SELECT id, account_id, amount, status, memo, created_at FROM holds WHERE id = $1` + d.ForUpdate
}

// warmLedger prepares every statement of a ledger batch.
func (db *DB) warmLedger(ctx context.Context) error {
	for _, q := range []string{maxTxnSQL, insertHoldSQL, updateHoldSQL, recordSQL, lockAccountSQL(db.Dialect), lockHoldSQL(db.Dialect)} {
		if _, err := db.cached(ctx, q, 0, func() string { return q }); err != nil {
			return err
		}
	}
	for _, n := range chunks {
		for _, st := range []struct{ name, q string }{
			{"lock accounts", lockSQL(db.Dialect, n)},
			{"prefetch records", prefetchSQL(db.Dialect, n)},
			{"update accounts", updateSQL(db.Dialect, n)},
		} {
			if _, err := db.cached(ctx, st.name, n, func() string { return st.q }); err != nil {
				return err
			}
		}
		for _, in := range inserts {
			if _, err := db.cached(ctx, in.head, n, func() string { return insertSQL(db.Dialect, in.head, in.width, n) }); err != nil {
				return err
			}
		}
	}
	return nil
}
