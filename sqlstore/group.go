package sqlstore

import (
	"context"
	"database/sql"
	"sync"
	"time"
)

// Grouped runs fn in a write transaction shared with the other callers of
// Grouped that arrive while the previous one commits (group commit): many
// small writes, such as audit records and rate-limit counters, then cost
// one commit, one fsync, between them. fn's writes are durable when
// Grouped returns nil. fn may run more than once (if the shared
// transaction fails, each fn is run again alone), so it must only write
// to tx and set its own results. fn gets the shared transaction's context,
// not the caller's: a caller that gives up does not undo the others' work;
// it stops waiting, and its write may still commit.
func (db *DB) Grouped(ctx context.Context, fn func(context.Context, *sql.Tx) error) error {
	db.groupOnce.Do(db.startGroup)
	if db.group == nil { // closed
		return db.Tx(ctx, func(tx *sql.Tx) error { return fn(ctx, tx) })
	}
	c := &groupCall{fn: fn, done: make(chan struct{})}
	select {
	case db.group <- c:
	case <-ctx.Done():
		return ctx.Err()
	case <-db.groupStop:
		return db.Tx(ctx, func(tx *sql.Tx) error { return fn(ctx, tx) })
	}
	select {
	case <-c.done:
		return c.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// GroupedLater queues fn like Grouped but does not wait for its commit:
// for records whose loss in a crash is acceptable because another,
// durable record exists (the wallet's log of what its users did; the bank
// records every balance query durably). onErr, if not nil, gets a failure.
func (db *DB) GroupedLater(fn func(context.Context, *sql.Tx) error, onErr func(error)) {
	db.groupOnce.Do(db.startGroup)
	if db.group == nil { // closed
		if onErr != nil {
			onErr(sql.ErrConnDone)
		}
		return
	}
	c := &groupCall{fn: fn, done: make(chan struct{}), onErr: onErr}
	select {
	case db.group <- c:
	case <-db.groupStop:
		if onErr != nil {
			onErr(sql.ErrConnDone)
		}
	}
}

type groupCall struct {
	fn    func(context.Context, *sql.Tx) error
	err   error
	done  chan struct{}
	onErr func(error) // set by GroupedLater: nobody waits on done
}

type groupState struct {
	groupOnce sync.Once
	group     chan *groupCall
	groupStop chan struct{}
	groupWG   sync.WaitGroup
	stopOnce  sync.Once
}

func (db *DB) startGroup() {
	db.group = make(chan *groupCall, 1024)
	db.groupStop = make(chan struct{})
	writers := max(1, db.Dialect.Writers)
	for range writers {
		db.groupWG.Add(1)
		go db.groupLoop()
	}
}

func (db *DB) groupLoop() {
	defer db.groupWG.Done()
	for {
		var batch []*groupCall
		select {
		case c := <-db.group:
			batch = append(batch, c)
		case <-db.groupStop:
			return
		}
		db.groupCommit(db.moreGrouped(batch))
	}
}

// moreGrouped adds to batch what is queued now, without waiting, up to 256.
func (db *DB) moreGrouped(batch []*groupCall) []*groupCall {
	for len(batch) < 256 {
		select {
		case c := <-db.group:
			batch = append(batch, c)
		default:
			return batch
		}
	}
	return batch
}

func (db *DB) groupCommit(batch []*groupCall) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := db.Tx(ctx, func(tx *sql.Tx) error {
		for _, c := range batch {
			if err := c.fn(ctx, tx); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil && len(batch) > 1 {
		for _, c := range batch {
			c.err = db.Tx(ctx, func(tx *sql.Tx) error { return c.fn(ctx, tx) })
		}
	} else {
		for _, c := range batch {
			c.err = err
		}
	}
	for _, c := range batch {
		if c.err != nil && c.onErr != nil {
			c.onErr(c.err)
		}
		close(c.done)
	}
}

// Close stops the group committer and the background tasks, and closes
// the database.
func (db *DB) Close() error {
	for _, f := range db.closing {
		f()
	}
	db.closing = nil
	db.groupOnce.Do(func() {}) // no committer may start after Close
	db.stopOnce.Do(func() {
		if db.groupStop != nil {
			close(db.groupStop)
			db.groupWG.Wait()
			// Commit what is still queued, in batches as before.
			for batch := db.moreGrouped(nil); len(batch) > 0; batch = db.moreGrouped(nil) {
				db.groupCommit(batch)
			}
		}
	})
	return db.DB.Close()
}
