package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"sync"
	"time"
)

// Batch gathers the writes of concurrent callers into one transaction
// (group commit): while one batch commits, the next fills, so many small
// writes share one commit and one fsync. write gets the items of a batch
// in arrival order and writes them all to tx, setting each item's own
// results; if the shared transaction fails, each item is written again
// alone, so write may see an item more than once and must only write to
// tx and set that item's results. write gets the batch's context, not a
// caller's: a caller that gives up stops waiting, and its item may still
// commit.
type Batch[T any] struct {
	db        *DB
	write     func(context.Context, *sql.Tx, []T) error
	unflushed bool
	// Linger is how long a batch waits for more items after its first
	// (0: it takes what is queued and commits at once). Waiting a little
	// makes batches bigger where a commit costs much more than an item.
	Linger time.Duration
	// Committed, if set, is told the items of each commit once it has
	// succeeded (after the transaction, never for one rolled back).
	Committed func([]T)
	once      sync.Once
	queue     chan *batchCall[T]
	barriers  []chan chan struct{} // one per committer (Flush)
}

type batchCall[T any] struct {
	item  T
	err   error
	done  chan struct{}
	onErr func(error) // set by Later: nobody waits on done
	mark  bool        // set by Flush: no item, only a place in the queue
}

// NewBatch returns a batch writer on db. An unflushed batch commits
// without waiting for the disk (the dialect's NoFlush: PostgreSQL's
// asynchronous commit, SQLite's synchronous NORMAL in WAL mode), on
// connections of its own that never go back to the pool: the database
// stays consistent and a killed process loses nothing committed, but a
// power cut may lose the last commits. Only records that may be lost so
// are written that way; never a balance.
func NewBatch[T any](db *DB, unflushed bool, write func(context.Context, *sql.Tx, []T) error) *Batch[T] {
	return &Batch[T]{db: db, write: write, unflushed: unflushed && db.Dialect.NoFlush != ""}
}

// Do writes item in the next batch and waits for its commit.
func (b *Batch[T]) Do(ctx context.Context, item T) error {
	alone := func() error {
		return b.db.Tx(ctx, func(tx *sql.Tx) error { return b.write(ctx, tx, []T{item}) })
	}
	if !b.start() {
		return alone()
	}
	call := &batchCall[T]{item: item, done: make(chan struct{})}
	select {
	case b.queue <- call:
	case <-ctx.Done():
		return ctx.Err()
	case <-b.db.groupStop:
		return alone()
	}
	select {
	case <-call.done:
		return call.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Later queues item like Do but does not wait for its commit: for records
// whose loss in the last milliseconds before a crash is acceptable (a
// query's audit record and limit count: auth.Service.Use). It blocks
// while the queue is full. onErr, if not nil, gets a failure.
func (b *Batch[T]) Later(item T, onErr func(error)) {
	fail := func() {
		if onErr != nil {
			onErr(sql.ErrConnDone)
		}
	}
	if !b.start() {
		fail()
		return
	}
	select {
	case b.queue <- &batchCall[T]{item: item, done: make(chan struct{}), onErr: onErr}:
	case <-b.db.groupStop:
		fail()
	}
}

// Flush waits until everything queued before it has been committed (or
// has failed).
func (b *Batch[T]) Flush(ctx context.Context) error {
	if !b.start() {
		return nil // Close committed what was queued
	}
	// The mark passes through the queue after everything queued before
	// it: once its batch is done, the rest has been taken by a committer;
	// a barrier on each committer then waits for what it has taken.
	mark := &batchCall[T]{mark: true, done: make(chan struct{})}
	select {
	case b.queue <- mark:
	case <-b.db.groupStop:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
	if err := wait(ctx, mark.done); err != nil {
		return err
	}
	for _, barrier := range b.barriers {
		done := make(chan struct{})
		select {
		case barrier <- done:
		case <-b.db.groupStop:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
		if err := wait(ctx, done); err != nil {
			return err
		}
	}
	return nil
}

func wait(ctx context.Context, done chan struct{}) error {
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// start starts the committers the first time; false once the database
// is closed.
func (b *Batch[T]) start() bool {
	b.db.batchMu.Lock()
	defer b.db.batchMu.Unlock()
	if b.db.closed {
		return false
	}
	b.once.Do(func() {
		if b.db.groupStop == nil {
			b.db.groupStop = make(chan struct{})
		}
		b.queue = make(chan *batchCall[T], 1024)
		b.db.drains = append(b.db.drains, b.drain)
		for range max(1, b.db.Dialect.Writers) {
			barrier := make(chan chan struct{})
			b.barriers = append(b.barriers, barrier)
			b.db.groupWG.Add(1)
			go b.loop(barrier)
		}
	})
	return true
}

// loop commits batches from the queue until the database closes. An
// unflushed batch keeps its own connection, on which the dialect's
// NoFlush statement has run; if that connection cannot be had, it commits
// durably through the pool (slower, never less safe).
func (b *Batch[T]) loop(barrier chan chan struct{}) {
	defer b.db.groupWG.Done()
	var conn *sql.Conn
	defer func() {
		if conn != nil {
			discard(conn)
		}
	}()
	for {
		var batch []*batchCall[T]
		select {
		case call := <-b.queue:
			batch = append(batch, call)
		case done := <-barrier: // nothing of this committer's is uncommitted
			close(done)
			continue
		case <-b.db.groupStop:
			return
		}
		if b.unflushed && conn == nil {
			conn = b.db.noFlushConn()
		}
		if b.Linger > 0 {
			batch = b.linger(batch)
		}
		if !b.commit(conn, b.more(batch)) && conn != nil {
			discard(conn) // it may be broken: take a fresh one next time
			conn = nil
		}
	}
}

// linger adds to batch what arrives within Linger, up to 256; a Flush
// mark ends the wait at once (someone is waiting for the commit).
func (b *Batch[T]) linger(batch []*batchCall[T]) []*batchCall[T] {
	if batch[len(batch)-1].mark {
		return batch
	}
	t := time.NewTimer(b.Linger)
	defer t.Stop()
	for len(batch) < 256 {
		select {
		case call := <-b.queue:
			batch = append(batch, call)
			if call.mark {
				return batch
			}
		case <-t.C:
			return batch
		case <-b.db.groupStop:
			return batch
		}
	}
	return batch
}

// more adds to batch what is queued now, without waiting, up to 256.
func (b *Batch[T]) more(batch []*batchCall[T]) []*batchCall[T] {
	for len(batch) < 256 {
		select {
		case call := <-b.queue:
			batch = append(batch, call)
		default:
			return batch
		}
	}
	return batch
}

// commit writes the batch in one transaction, on conn or else the pool;
// if that fails, each item again alone. It reports whether the shared
// transaction committed.
func (b *Batch[T]) commit(conn *sql.Conn, batch []*batchCall[T]) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var on beginner = b.db.DB
	if conn != nil {
		on = conn
	}
	items := make([]T, 0, len(batch))
	for _, call := range batch {
		if !call.mark {
			items = append(items, call.item)
		}
	}
	if len(items) == 0 {
		for _, call := range batch {
			close(call.done)
		}
		return true
	}
	err := b.db.txOn(ctx, on, func(tx *sql.Tx) error { return b.write(ctx, tx, items) })
	switch {
	case err == nil && b.Committed != nil:
		b.Committed(items)
	case err != nil && len(items) > 1:
		for _, call := range batch {
			if call.mark {
				continue
			}
			one := []T{call.item}
			call.err = b.db.Tx(ctx, func(tx *sql.Tx) error { return b.write(ctx, tx, one) })
			if call.err == nil && b.Committed != nil {
				b.Committed(one)
			}
		}
	}
	if err == nil || len(items) == 1 {
		for _, call := range batch {
			call.err = err
		}
	}
	for _, call := range batch {
		if call.err != nil && call.onErr != nil {
			call.onErr(call.err)
		}
		close(call.done)
	}
	return err == nil
}

// drain commits, durably and in batches, what is still queued.
func (b *Batch[T]) drain() {
	for batch := b.more(nil); len(batch) > 0; batch = b.more(nil) {
		b.commit(nil, batch)
	}
}

// noFlushConn returns a connection whose commits do not wait for the
// disk, or nil.
func (db *DB) noFlushConn() *sql.Conn {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil
	}
	if _, err := conn.ExecContext(ctx, db.Dialect.NoFlush); err != nil {
		discard(conn)
		return nil
	}
	return conn
}

// discard closes an unflushed connection for good: one whose commits do
// not wait for the disk never goes back to the pool, where a durable
// write could get it.
func discard(conn *sql.Conn) {
	conn.Raw(func(any) error { return driver.ErrBadConn })
	conn.Close()
}

// groupState is what the batches of a database share.
type groupState struct {
	batchMu   sync.Mutex
	closed    bool
	drains    []func()
	groupStop chan struct{}
	groupWG   sync.WaitGroup

	durable *Batch[groupFn]
}

// groupFn is a write of Grouped.
type groupFn = func(context.Context, *sql.Tx) error

func runEach(ctx context.Context, tx *sql.Tx, fns []groupFn) error {
	for _, fn := range fns {
		if err := fn(ctx, tx); err != nil {
			return err
		}
	}
	return nil
}

// Grouped runs fn in a write transaction shared with the other callers of
// Grouped that arrive while the previous one commits (a Batch whose items
// are functions). fn's writes are durable when Grouped returns nil. fn
// may run more than once, so it must only write to tx and set its own
// results.
func (db *DB) Grouped(ctx context.Context, fn func(context.Context, *sql.Tx) error) error {
	return db.durable.Do(ctx, fn)
}

// Close stops the batch committers and the background tasks, commits
// what is still queued, and closes the database.
func (db *DB) Close() error {
	for _, f := range db.closing {
		f()
	}
	db.closing = nil
	db.batchMu.Lock()
	first := !db.closed
	db.closed = true
	drains := db.drains
	db.batchMu.Unlock()
	if first && db.groupStop != nil {
		close(db.groupStop)
		db.groupWG.Wait()
		for _, drain := range drains {
			drain()
		}
	}
	err := db.DB.Close()
	for _, f := range db.afterClose {
		f()
	}
	db.afterClose = nil
	return err
}
