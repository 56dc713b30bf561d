package ledger

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"katong"
)

// Ledger applies requests to a store. Concurrent requests are gathered
// into one store transaction (group commit, as TigerBeetle batches): while
// one commit waits for fsync the next batch fills, so the disk syncs once
// for many transfers. Each request is still all-or-nothing and sees the
// effects of those before it; durability is unchanged because no result is
// returned before its batch has committed.
type Ledger struct {
	store    Store
	now      func() time.Time
	log      *slog.Logger
	maxBatch int

	queue chan *call
	done  chan struct{}
	wg    sync.WaitGroup

	closeMu sync.RWMutex // held for reading while a request is queued
	closed  bool

	mu       sync.Mutex
	inflight map[string]bool
	system   map[katong.AccountKind]katong.AccountID
}

type call struct {
	req  Request
	res  *Result
	err  error
	done chan struct{}
}

// Options tune a Ledger. Zero values take the defaults.
type Options struct {
	Now        func() time.Time // the clock; time.Now by default
	Log        *slog.Logger
	MaxBatch   int // requests per commit; 256 by default
	Committers int // concurrent batches; by default the store's WriteConcurrency, else 1
}

// New returns a Ledger on the store and starts its committers. Close
// stops them.
func New(store Store, o Options) *Ledger {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 256
	}
	if o.Committers <= 0 {
		o.Committers = 1
		if c, ok := store.(interface{ WriteConcurrency() int }); ok {
			o.Committers = c.WriteConcurrency()
		}
	}
	l := &Ledger{store: store, now: o.Now, log: o.Log, maxBatch: o.MaxBatch,
		queue: make(chan *call, 4096), done: make(chan struct{}),
		inflight: map[string]bool{}, system: map[katong.AccountKind]katong.AccountID{}}
	for range o.Committers {
		l.wg.Add(1)
		go l.commitLoop()
	}
	return l
}

// Close stops the committers after the requests already queued have
// been committed. Requests after Close are refused. Closing twice is fine.
func (l *Ledger) Close() error {
	l.closeMu.Lock()
	if l.closed {
		l.closeMu.Unlock()
		return nil
	}
	l.closed = true
	close(l.done)
	l.closeMu.Unlock()
	l.wg.Wait()
	return nil
}

// Store returns the store the ledger writes to.
func (l *Ledger) Store() Store { return l.store }

// Do applies one request and returns its result once it is durable.
// A request whose key was used before with the same content returns the
// first result (Replayed set); with other content EKeyReused; while the
// first is still in flight EConflict. When ctx ends first, the outcome is
// unknown to the caller: retry with the same key to learn it.
func (l *Ledger) Do(ctx context.Context, r Request) (*Result, error) {
	if err := check(&r); err != nil {
		return nil, err
	}
	scope := r.Client + "\x00" + r.Key
	l.mu.Lock()
	if l.inflight[scope] {
		l.mu.Unlock()
		return nil, katong.Errorf(katong.EConflict, "a request with this key is in flight")
	}
	l.inflight[scope] = true
	l.mu.Unlock()
	c := &call{req: r, done: make(chan struct{})}
	l.closeMu.RLock()
	if l.closed {
		l.closeMu.RUnlock()
		l.finish(c)
		return nil, katong.Errorf(katong.EInternal, "ledger closed")
	}
	select {
	case l.queue <- c:
		l.closeMu.RUnlock()
	case <-ctx.Done():
		l.closeMu.RUnlock()
		l.finish(c)
		return nil, ctx.Err()
	}
	select {
	case <-c.done:
		return c.res, c.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (l *Ledger) finish(c *call) {
	l.mu.Lock()
	delete(l.inflight, c.req.Client+"\x00"+c.req.Key)
	l.mu.Unlock()
}

func (l *Ledger) commitLoop() {
	defer l.wg.Done()
	batch := make([]*call, 0, l.maxBatch)
	for {
		batch = batch[:0]
		select {
		case c := <-l.queue:
			batch = append(batch, c)
		case <-l.done:
			l.drain()
			return
		}
		l.commit(l.more(batch))
	}
}

// more adds to batch what is queued now, without waiting, up to maxBatch.
func (l *Ledger) more(batch []*call) []*call {
	for len(batch) < l.maxBatch {
		select {
		case c := <-l.queue:
			batch = append(batch, c)
		default:
			return batch
		}
	}
	return batch
}

// drain commits what is still queued after Close: nothing can be added
// any more, because Close waited for every Do holding the read lock.
func (l *Ledger) drain() {
	for {
		batch := l.more(nil)
		if len(batch) == 0 {
			return
		}
		l.commit(batch)
	}
}

// commit writes a batch in one transaction. If the transaction fails as a
// whole, each request is tried again on its own so that one bad request
// cannot fail the others.
func (l *Ledger) commit(batch []*call) {
	err := l.run(batch)
	if err != nil && len(batch) > 1 {
		l.log.Warn("ledger batch failed, retrying one by one", "size", len(batch), "err", err)
		for _, c := range batch {
			if e := l.run([]*call{c}); e != nil {
				c.res, c.err = nil, e
			}
		}
	} else if err != nil {
		batch[0].res, batch[0].err = nil, err
	}
	for _, c := range batch {
		l.finish(c)
		close(c.done)
	}
}

func (l *Ledger) run(batch []*call) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The bank's own accounts are looked up before the transaction: a
	// look-up inside it would need a second connection while holding the
	// write lock, which the waiting writers may all hold (SQLite).
	system := map[katong.AccountKind]katong.AccountID{}
	for _, c := range batch {
		k, ok := counterpart[c.req.Kind]
		if _, known := system[k]; !ok || known {
			continue
		}
		if id, err := l.System(ctx, k); err == nil {
			system[k] = id
		} else if katong.ErrorCode(err) == katong.EInternal {
			return err
		}
	}
	return l.store.Write(ctx, func(tx Tx) error {
		w := &work{tx: tx, now: l.now().UTC().Truncate(time.Microsecond),
			accounts: map[katong.AccountID]*katong.Account{},
			system: func(k katong.AccountKind) (katong.AccountID, error) {
				if id, ok := system[k]; ok {
					return id, nil
				}
				return 0, katong.Errorf(katong.ENotFound, "no %s account", k)
			},
			keys: map[string]bool{}}
		if err := w.lock(ctx, batch); err != nil {
			return err
		}
		for _, c := range batch {
			c.res, c.err = w.apply(ctx, &c.req)
			if c.err != nil && katong.ErrorCode(c.err) == katong.EInternal {
				return c.err // a store failure: the transaction is unusable
			}
		}
		return nil
	})
}

// System returns the id of the bank's own account of the kind, cached.
func (l *Ledger) System(ctx context.Context, kind katong.AccountKind) (katong.AccountID, error) {
	l.mu.Lock()
	id, ok := l.system[kind]
	l.mu.Unlock()
	if ok {
		return id, nil
	}
	id, err := l.store.System(ctx, kind)
	if err != nil {
		return 0, err
	}
	l.mu.Lock()
	l.system[kind] = id
	l.mu.Unlock()
	return id, nil
}

// Balance returns the account's current balance. Reading is free: it
// never posts or changes anything.
func (l *Ledger) Balance(ctx context.Context, id katong.AccountID) (*katong.Balance, error) {
	a, err := l.store.Account(ctx, id)
	if err != nil {
		return nil, err
	}
	return &katong.Balance{AccountID: a.ID, Available: a.Available(), Booked: a.Booked, AsOf: l.now()}, nil
}
