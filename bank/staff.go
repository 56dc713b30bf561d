package bank

import (
	"context"
	"database/sql"
	"errors"

	"katong"
	"katong/auth"
)

// Role is a staff member's role; the scopes are disjoint from customers'.
type Role string

const (
	Teller     Role = "teller"
	Supervisor Role = "supervisor"
)

// Staff is a teller or supervisor.
type Staff struct {
	ID       int64
	Username string
	Name     string
	Role     Role
	Branch   string
}

// CreateStaff adds a staff member. The password must meet the staff
// policy (S5: at least 12 characters, not common).
func (b *Bank) CreateStaff(ctx context.Context, s Staff, password string) (*Staff, error) {
	if s.Role != Teller && s.Role != Supervisor {
		return nil, katong.Invalid("role", "role must be teller or supervisor")
	}
	if s.Username == "" || len(s.Username) > 64 || katong.Redact(s.Username) != s.Username {
		return nil, katong.Invalid("username", "username must be 1 to 64 characters and not a card or ID number")
	}
	if err := auth.CheckPassword(password, auth.StaffMinLen); err != nil {
		return nil, err
	}
	err := b.DB.QueryRowContext(ctx, `INSERT INTO staff (username, name, role, branch, password_hash, created_at)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, s.Username, s.Name, s.Role, s.Branch,
		auth.HashPassword(password), b.Now().UnixMicro()).Scan(&s.ID)
	if err != nil {
		return nil, katong.Errorf(katong.EInvalid, "staff exists or cannot be stored: %v", err)
	}
	return &s, nil
}

// StaffLogin checks a staff member's password and starts a session. Every
// failure, locked or not, gives the same EUnauthorized.
func (b *Bank) StaffLogin(ctx context.Context, username, password string) (string, *Staff, error) {
	fail := katong.Errorf(katong.EUnauthorized, "wrong username or password")
	if err := b.Auth.Attempt(ctx, "staff:"+username); err != nil {
		auth.VerifyPassword("", password)
		if katong.ErrorCode(err) == katong.ELocked {
			return "", nil, err
		}
		return "", nil, err
	}
	var s Staff
	var hash string
	err := b.DB.Row(ctx, `SELECT id, username, name, role, branch, password_hash FROM staff WHERE username = $1`, username).
		Scan(&s.ID, &s.Username, &s.Name, &s.Role, &s.Branch, &hash)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", nil, err
	}
	if !auth.VerifyPassword(hash, password) {
		return "", nil, fail
	}
	b.Auth.Succeed(ctx, "staff:"+username)
	tok, err := b.Auth.StartSession(ctx, "staff", s.ID, "", StaffSessions)
	if err != nil {
		return "", nil, err
	}
	return tok, &s, nil
}

// StaffByID returns a staff member.
func (b *Bank) StaffByID(ctx context.Context, id int64) (*Staff, error) {
	var s Staff
	err := b.DB.Row(ctx, `SELECT id, username, name, role, branch FROM staff WHERE id = $1`, id).
		Scan(&s.ID, &s.Username, &s.Name, &s.Role, &s.Branch)
	if err != nil {
		return nil, katong.Errorf(katong.EUnauthorized, "no such staff")
	}
	return &s, nil
}

// SetStatus freezes (with a reason) or unfreezes an account. Only a
// supervisor may; the change is audited.
func (b *Bank) SetStatus(ctx context.Context, by *Staff, a katong.AccountID, st katong.AccountStatus, reason string) error {
	if by == nil || by.Role != Supervisor {
		return katong.Errorf(katong.EForbidden, "only a supervisor may change an account's status")
	}
	if st == katong.StatusFrozen && reason == "" {
		return katong.Invalid("reason", "a freeze needs a reason")
	}
	if st != katong.StatusFrozen && st != katong.StatusActive {
		return katong.Invalid("status", "status must be frozen or active")
	}
	if st == katong.StatusActive {
		reason = ""
	}
	err := b.DB.Ledger().SetStatus(ctx, a, st, reason)
	result := "ok"
	if err != nil {
		result = string(katong.ErrorCode(err))
	}
	b.Auth.Audit(ctx, auth.Record{Channel: katong.ChannelCounter, Actor: "supervisor:" + by.Username + "@" + by.Branch,
		Action: "set_status:" + string(st), Result: result, Detail: "account " + itoa(a) + " " + reason})
	return err
}
