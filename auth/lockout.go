package auth

import (
	"context"
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
