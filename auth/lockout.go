package auth

import (
	"context"
	"database/sql"
	"time"

	"katong"
)

// Attempt reserves one try of a secret for key before it is checked, so
// that concurrent tries cannot get past the limit: the count goes up
// first, and a try beyond MaxFailures is refused with ELocked without
// checking anything. The caller checks the secret and then calls
// Succeed (which clears the count) or nothing (the try stays counted).
// The count is durable and shared by every channel and instance that
// uses the same key.
func (s *Service) Attempt(ctx context.Context, key string) error {
	k := s.Key("lock\x00" + key)
	now := s.Now()
	var failures, lockedUntil int64
	err := s.db.QueryRowContext(ctx, `INSERT INTO lockouts (lock_key, failures, window_start, locked_until)
		VALUES ($1, 1, $2, 0)
		ON CONFLICT (lock_key) DO UPDATE SET
			failures = CASE WHEN lockouts.locked_until = 0 AND lockouts.window_start <= $3 THEN 1
			                WHEN lockouts.locked_until <> 0 AND lockouts.locked_until <= $2 THEN 1
			                ELSE lockouts.failures + 1 END,
			window_start = CASE WHEN (lockouts.locked_until = 0 AND lockouts.window_start <= $3)
			                      OR (lockouts.locked_until <> 0 AND lockouts.locked_until <= $2) THEN $2
			                ELSE lockouts.window_start END,
			locked_until = CASE WHEN lockouts.locked_until <> 0 AND lockouts.locked_until <= $2 THEN 0
			                ELSE lockouts.locked_until END
		RETURNING failures, locked_until`,
		k, now.UnixMicro(), now.Add(-s.Window).UnixMicro()).Scan(&failures, &lockedUntil)
	if err != nil {
		return err
	}
	if lockedUntil > now.UnixMicro() {
		return &katong.Error{Code: katong.ELocked, RetryAfter: time.UnixMicro(lockedUntil).Sub(now)}
	}
	if failures > int64(s.MaxFailures) {
		until := now.Add(s.LockFor)
		if _, err := s.db.ExecContext(ctx, `UPDATE lockouts SET locked_until = $1 WHERE lock_key = $2 AND locked_until = 0`,
			until.UnixMicro(), k); err != nil {
			return err
		}
		return &katong.Error{Code: katong.ELocked, RetryAfter: s.LockFor}
	}
	return nil
}

// Succeed clears the count of key after a right secret.
func (s *Service) Succeed(ctx context.Context, key string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM lockouts WHERE lock_key = $1 AND locked_until = 0`, s.Key("lock\x00"+key))
	return err
}

// Failures returns the count of key and whether it is locked now.
func (s *Service) Failures(ctx context.Context, key string) (int, bool, error) {
	var failures, until int64
	err := s.db.QueryRowContext(ctx, `SELECT failures, locked_until FROM lockouts WHERE lock_key = $1`,
		s.Key("lock\x00"+key)).Scan(&failures, &until)
	if err != nil {
		return 0, false, nil
	}
	return int(failures), until > s.Now().UnixMicro(), nil
}

// Limit counts one event for key in a fixed window of r.Per and refuses
// it with ERateLimited, carrying the time left in the window, when there
// were already r.N. A zero rate allows everything. Limits are counted on
// every balance query: their writes share commits with other callers'.
func (s *Service) Limit(ctx context.Context, key string, r katong.Rate) error {
	if r.N <= 0 || r.Per <= 0 {
		return nil
	}
	var limited error
	err := s.db.Grouped(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var err error
		limited, err = s.LimitTx(ctx, tx, key, r)
		return err
	})
	if err != nil {
		return err
	}
	return limited
}

// LimitTx is Limit inside the caller's transaction. It returns the
// ERateLimited refusal (or nil) and, separately, a store failure.
func (s *Service) LimitTx(ctx context.Context, tx *sql.Tx, key string, r katong.Rate) (limited, err error) {
	if r.N <= 0 || r.Per <= 0 {
		return nil, nil
	}
	now := s.Now()
	start := now.Truncate(r.Per)
	var hits int64
	err = tx.QueryRowContext(ctx, `INSERT INTO rate_windows (rate_key, window_start, hits) VALUES ($1, $2, 1)
		ON CONFLICT (rate_key) DO UPDATE SET
			hits = CASE WHEN rate_windows.window_start = $2 THEN rate_windows.hits + 1 ELSE 1 END,
			window_start = $2
		RETURNING hits`, s.Key("rate\x00"+key), start.UnixMicro()).Scan(&hits)
	if err != nil {
		return nil, err
	}
	if hits > int64(r.N) {
		return &katong.Error{Code: katong.ERateLimited, RetryAfter: start.Add(r.Per).Sub(now)}, nil
	}
	return nil, nil
}
