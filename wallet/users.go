package wallet

import (
	"context"
	"database/sql"
	"errors"

	"katong"
	"katong/auth"
)

// sessionKind is the kind of wallet users' sessions.
const sessionKind = "wallet_user"

// User is a logged-in wallet user.
type User struct {
	ID     int64
	Mobile string // E.164; filled in only where a page shows it
	token  string // the session token the request came with
}

// mobileTaken is SignUp's answer for a mobile number already registered.
func mobileTaken() error {
	return &katong.Error{Code: katong.EInvalid, Field: "mobile", Message: "this mobile number is already registered", Err: errMobileTaken}
}

// SignUp creates a wallet user with a mobile number and a password
// (at least 8 characters, not a common one). Returns EInvalid naming the
// field: a malformed or already registered mobile, a weak password.
func (w *Wallet) SignUp(ctx context.Context, mobile, password string) (int64, error) {
	m, err := katong.NormalizeMobile(mobile)
	if err != nil {
		return 0, err
	}
	if err := auth.CheckPassword(password, auth.CustomerMinLen); err != nil {
		return 0, err
	}
	// A taken mobile is answered before the costly hash (a second start of
	// the demo, or someone trying many numbers).
	var taken int
	if err := w.db.Row(ctx, `SELECT count(*) FROM wallet_users WHERE mobile = $1`, m).Scan(&taken); err != nil {
		return 0, err
	} else if taken > 0 {
		return 0, mobileTaken()
	}
	var id int64
	err = w.db.QueryRowContext(ctx, `INSERT INTO wallet_users (mobile, password_hash, created_at) VALUES ($1, $2, $3)
		ON CONFLICT (mobile) DO NOTHING RETURNING id`, m, auth.HashPassword(password), w.cfg.Now().UnixMicro()).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, mobileTaken()
	}
	return id, err
}

// Login checks a mobile number and password and starts a session,
// returning its token. Wrong secrets count towards the lock-out of the
// mobile number (auth.Attempt before the check). Returns EInvalid for a
// malformed mobile, EUnauthorized for a wrong one or a wrong password, and
// ELocked after too many.
func (w *Wallet) Login(ctx context.Context, mobile, password, device string) (string, error) {
	m, err := katong.NormalizeMobile(mobile)
	if err != nil {
		return "", err
	}
	if err := w.auth.Attempt(ctx, "wallet-login:"+m); err != nil {
		auth.VerifyPassword("", password) // the same time as a check
		return "", err
	}
	var id int64
	var hash string
	err = w.db.Row(ctx, `SELECT id, password_hash FROM wallet_users WHERE mobile = $1`, m).Scan(&id, &hash)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", err
	}
	var wrong error
	if !auth.VerifyPassword(hash, password) || err != nil {
		wrong = katong.Errorf(katong.EUnauthorized, "wrong mobile or password")
	}
	w.audit(ctx, id, "login", "", wrong)
	if wrong != nil {
		return "", wrong
	}
	if err := w.auth.Succeed(ctx, "wallet-login:"+m); err != nil {
		return "", err
	}
	return w.auth.StartSession(ctx, sessionKind, id, device, sessionPolicy)
}

// Logout ends the session of the token.
func (w *Wallet) Logout(ctx context.Context, token string) error {
	return w.auth.EndSession(ctx, token)
}

// user returns the user of a session token. Returns EUnauthorized if the
// session is unknown, ended or expired.
func (w *Wallet) user(ctx context.Context, token string) (*User, error) {
	s, err := w.auth.Session(ctx, sessionKind, token, sessionPolicy)
	if err != nil {
		return nil, err
	}
	return &User{ID: s.SubjectID, token: token}, nil
}

// mobile fills in the user's mobile number.
func (w *Wallet) mobile(ctx context.Context, u *User) error {
	return w.db.Row(ctx, `SELECT mobile FROM wallet_users WHERE id = $1`, u.ID).Scan(&u.Mobile)
}
