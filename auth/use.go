package auth

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"sync"
	"time"

	"katong"
	"katong/sqlstore"
)

// Use is one query of an account on a channel: a balance or its records
// (or, in the wallet, anything its user does). Its Key is counted under
// Rate (a zero Rate counts nothing) and its Record written with the
// result: RATE_LIMITED if the limit refuses it, else Outcome's code, else
// the Record's own Result, or "ok".
type Use struct {
	Key     string
	Rate    katong.Rate
	Record  Record
	Outcome error
}

// UseLinger is how long the batch of uses waits for more after its first
// before it commits: the bound on what a killed process can lose of them.
const UseLinger = 5 * time.Millisecond

// use is a Use on its way to the database.
type use struct {
	rec     Record // redacted, with its time and result
	key     string // stored rate key; "" counts nothing
	start   int64  // window start, Unix µs
	limited bool
	total   int64 // the window's count after the batch (set by writeUses)
}

// Use decides u's limit and queues its count and audit record; it does
// not wait for them to be written. It returns the ERateLimited refusal
// or nil; or a store failure, when the stored count of a window this
// process has not seen yet cannot be read.
//
// The answer does not wait for a commit, so that a query costs no more
// than its reads: queries of every channel and instance are written in
// batches (sqlstore.Batch, committed without waiting for the disk) at
// most UseLinger after they happen. A killed process loses the records
// and counts of its last few milliseconds; a graceful stop loses none.
//
// Limits are counted in the database, so that every channel and instance
// of the bank shares them and they outlast a restart. Each process
// decides from the window's count as the database last told it (read on
// the process's first query of the window, then returned by each batch)
// plus its own queries not yet written: exact with one instance; with
// several, a card can get a few more answers than its limit, as many as
// the other instances serve it in one batch.
func (s *Service) Use(ctx context.Context, u Use) (limited error, err error) {
	now := s.Now()
	x := &use{rec: u.Record.redacted()}
	if x.rec.At.IsZero() {
		x.rec.At = now
	}
	switch {
	case u.Outcome != nil:
		x.rec.Result = string(katong.ErrorCode(u.Outcome))
	case x.rec.Result == "":
		x.rec.Result = "ok"
	}
	if u.Rate.N > 0 && u.Rate.Per > 0 {
		start := now.Truncate(u.Rate.Per)
		x.key, x.start = s.Key("rate\x00"+u.Key), start.UnixMicro()
		hits, err := s.count(ctx, x.key, x.start, start.Add(u.Rate.Per).UnixMicro())
		if err != nil {
			return nil, err
		}
		if hits > int64(u.Rate.N) {
			x.limited = true
			x.rec.Result = string(katong.ERateLimited)
			limited = &katong.Error{Code: katong.ERateLimited, RetryAfter: start.Add(u.Rate.Per).Sub(now)}
		}
	}
	s.uses.Later(x, func(err error) {
		slog.Error("audit: a query's record and count were not written", "actor", x.rec.Actor, "card", x.rec.Card, "err", err)
	})
	return limited, nil
}

// Flush waits until the uses queued before it are written.
func (s *Service) Flush(ctx context.Context) error { return s.uses.Flush(ctx) }

// window is what this process knows of one rate window.
type window struct {
	start, end int64
	known      int64 // the count the database last returned
	local      int64 // this process's uses not yet in known
}

// limits is the Service's view of the rate windows in use.
type limits struct {
	mu      sync.Mutex
	windows map[string]*window
	swept   int // windows left by the last sweep
}

// count counts one use of key in the window [start, end) and returns the
// window's count with it.
func (s *Service) count(ctx context.Context, key string, start, end int64) (int64, error) {
	l := &s.limits
	l.mu.Lock()
	w := l.windows[key]
	if w == nil || w.start != start {
		l.mu.Unlock()
		// First use of this window here: what have the others counted?
		var stored, hits int64
		err := s.db.Row(ctx, `SELECT window_start, hits FROM rate_windows WHERE rate_key = $1`, key).Scan(&stored, &hits)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			hits = 0
		case err != nil:
			return 0, err
		case stored != start:
			hits = 0
		}
		l.mu.Lock()
		if w = l.windows[key]; w == nil || w.start != start {
			w = &window{start: start, end: end, known: hits}
			l.set(key, w, start)
		}
	}
	w.local++
	n := w.known + w.local
	l.mu.Unlock()
	return n, nil
}

// set stores w, and drops the windows that have ended once the map has
// doubled since the last sweep. l.mu is held.
func (l *limits) set(key string, w *window, now int64) {
	if l.windows == nil {
		l.windows = map[string]*window{}
	}
	l.windows[key] = w
	if len(l.windows) > 2*l.swept+1024 {
		for k, old := range l.windows {
			if old.end <= now {
				delete(l.windows, k)
			}
		}
		l.swept = len(l.windows)
	}
}

// written takes a committed batch's counts into the windows: its uses
// are now in the database's count.
func (s *Service) written(uses []*use) {
	l := &s.limits
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, u := range uses {
		if w := l.windows[u.key]; u.key != "" && w != nil && w.start == u.start {
			w.local--
			// Batches can commit out of order (PostgreSQL runs several
			// writers); a window's count only grows.
			w.known = max(w.known, u.total)
		}
	}
}

// writeUses counts the batch's keys, one statement per round of distinct
// (key, window), then writes every record in multi-row inserts.
func (s *Service) writeUses(ctx context.Context, tx *sql.Tx, uses []*use) error {
	pending := make([]*use, 0, len(uses))
	for _, u := range uses {
		if u.key != "" {
			pending = append(pending, u)
		}
	}
	for len(pending) > 0 {
		counts := map[string]*sqlstore.WindowCount{}
		var order []*sqlstore.WindowCount
		var round, later []*use
		for _, u := range pending {
			c := counts[u.key]
			switch {
			case c == nil:
				c = &sqlstore.WindowCount{Key: u.key, Start: u.start}
				counts[u.key] = c
				order = append(order, c)
			case c.Start != u.start: // a window boundary inside the batch
				later = append(later, u)
				continue
			}
			c.N++
			round = append(round, u)
		}
		if err := s.db.CountWindows(ctx, tx, order); err != nil {
			return err
		}
		for _, u := range round {
			u.total = counts[u.key].Hits
		}
		pending = later
	}
	rows := make([][]any, len(uses))
	for i, u := range uses {
		rows[i] = u.rec.row()
	}
	return s.db.InsertRows(ctx, tx, sqlstore.InsertAudit, rows)
}

// usesState is the Service's batch of uses and its rate windows.
type usesState struct {
	uses   *sqlstore.Batch[*use]
	limits limits
}
