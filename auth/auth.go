package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"time"

	"katong"
	"katong/shortcache"
	"katong/sqlstore"
)

// Service keeps the sessions, lock-outs, rate limits and audit log of one
// database.
type Service struct {
	db *sqlstore.DB
	// Now is the clock; tests move it.
	Now func() time.Time
	// Key turns a lock-out or rate key (a card's look-up hash, a login
	// name) into the stored key; it should be keyed (secret.Vault.Lookup),
	// so that no stored key reveals what it counts.
	Key func(string) string
	// Lock-out policy (S6): MaxFailures wrong secrets within Window lock
	// the key for LockFor.
	MaxFailures int
	Window      time.Duration
	LockFor     time.Duration
	usesState
	sessions *shortcache.Cache[string, *cachedSession]
}

// New returns a Service on db with the default policy: 5 failures in an
// hour lock for 30 minutes.
func New(db *sqlstore.DB, key func(string) string) *Service {
	s := &Service{db: db, Now: time.Now, Key: key, MaxFailures: 5, Window: time.Hour, LockFor: 30 * time.Minute,
		sessions: shortcache.New[string, *cachedSession](SessionCache)}
	s.uses = sqlstore.NewBatch(db, true, s.writeUses)
	s.uses.Linger = UseLinger
	s.uses.Committed = s.written
	return s
}

// DB returns the database the service keeps its state in.
func (s *Service) DB() *sqlstore.DB { return s.db }

// NewToken returns a fresh random token of 256 bits, base64url.
func NewToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// HashToken is how a token is stored: its SHA-256 (tokens are random, so
// an unkeyed hash is enough and the database never holds a usable token).
func HashToken(tok string) []byte {
	h := sha256.Sum256([]byte(tok))
	return h[:]
}

// Session is a logged-in subject.
type Session struct {
	Kind      string // "customer", "staff", "wallet_user"
	SubjectID int64
	Device    string
	Created   time.Time
	LastSeen  time.Time
	Expires   time.Time
}

// SessionPolicy bounds a session's life.
type SessionPolicy struct {
	Idle     time.Duration // ends after this long without a request
	Absolute time.Duration // ends this long after log-in whatever happens
}

// StartSession creates a session and returns its token. Callers start a
// new one on every log-in (rotation) and end the old one.
func (s *Service) StartSession(ctx context.Context, kind string, id int64, device string, p SessionPolicy) (string, error) {
	tok := NewToken()
	now := s.Now()
	_, err := s.db.ExecContext(ctx, `INSERT INTO sessions (token_hash, subject_kind, subject_id, device, created_at, last_seen, expires_at)
		VALUES ($1, $2, $3, $4, $5, $5, $6)`, HashToken(tok), kind, id, device, now.UnixMicro(), now.Add(p.Absolute).UnixMicro())
	if err != nil {
		return "", err
	}
	return tok, nil
}

// SessionCache is how long a process may answer for a session from what
// it read of it, without reading it again: a session ended through
// another instance stops working there within this time; one ended
// through this process stops at once.
const SessionCache = time.Second

// Session returns the live session of a token of the kind, and marks it
// seen. Returns EUnauthorized if the token is unknown, ended, revoked,
// idle longer than p.Idle or of another kind.
func (s *Service) Session(ctx context.Context, kind, tok string, p SessionPolicy) (*Session, error) {
	if tok == "" {
		return nil, katong.Errorf(katong.EUnauthorized, "no session")
	}
	now := s.Now()
	h := HashToken(tok)
	key := string(h)
	c, err := s.sessions.Load(key, now, func() (*cachedSession, error) {
		c := &cachedSession{}
		var created, seen, expires int64
		err := s.db.Row(ctx, `SELECT subject_kind, subject_id, device, created_at, last_seen, expires_at, revoked
			FROM sessions WHERE token_hash = $1`, h).Scan(&c.Kind, &c.SubjectID, &c.Device, &created, &seen, &expires, &c.revoked)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, katong.Errorf(katong.EUnauthorized, "unknown session")
		}
		c.Created, c.LastSeen, c.Expires = time.UnixMicro(created), time.UnixMicro(seen), time.UnixMicro(expires)
		return c, err
	})
	if err != nil {
		return nil, err
	}
	ss := c.Session
	switch {
	case ss.Kind != kind:
		return nil, katong.Errorf(katong.EUnauthorized, "session of another kind")
	case c.revoked != 0:
		return nil, katong.Errorf(katong.EUnauthorized, "session ended")
	case !now.Before(ss.Expires):
		return nil, katong.Errorf(katong.EUnauthorized, "session expired")
	case p.Idle > 0 && now.Sub(ss.LastSeen) >= p.Idle:
		return nil, katong.Errorf(katong.EUnauthorized, "session idle too long")
	}
	// Mark seen at most once a second: a busy client need not write on every read.
	if now.Sub(ss.LastSeen) >= time.Second {
		if _, err := s.db.ExecContext(ctx, `UPDATE sessions SET last_seen = $1 WHERE token_hash = $2`,
			now.UnixMicro(), h); err != nil {
			return nil, err
		}
		s.sessions.Forget(key) // the next request reads it again
	}
	return &ss, nil
}

// EndSession revokes a session (log-out). Ending an unknown token is not an error.
func (s *Service) EndSession(ctx context.Context, tok string) error {
	h := HashToken(tok)
	_, err := s.db.ExecContext(ctx, `UPDATE sessions SET revoked = $1 WHERE token_hash = $2`, s.Now().UnixMicro(), h)
	s.sessions.Drop(string(h))
	return err
}

// EndSessions revokes every session of a subject but keep (a password
// change ends the others).
func (s *Service) EndSessions(ctx context.Context, kind string, id int64, keep string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE sessions SET revoked = $1 WHERE subject_kind = $2 AND subject_id = $3
		AND revoked = 0 AND token_hash <> $4`, s.Now().UnixMicro(), kind, id, HashToken(keep))
	s.sessions.DropIf(func(_ string, c *cachedSession) bool { return c.Kind == kind && c.SubjectID == id })
	return err
}

// cachedSession is a session as read from the database.
type cachedSession struct {
	Session
	revoked int64
}

// NewDevice records a device for the subject and reports whether it had
// not been seen before.
func (s *Service) NewDevice(ctx context.Context, kind string, id int64, device string) (bool, error) {
	h := sha256.Sum256([]byte(device))
	res, err := s.db.ExecContext(ctx, `INSERT INTO devices (subject_kind, subject_id, device_hash, first_seen)
		VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`, kind, id, base64.RawURLEncoding.EncodeToString(h[:]), s.Now().UnixMicro())
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// Purge deletes sessions that ended more than a day ago.
func (s *Service) Purge(ctx context.Context) error {
	cut := s.Now().Add(-24 * time.Hour).UnixMicro()
	_, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at < $1 OR (revoked <> 0 AND revoked < $1)`, cut)
	return err
}
