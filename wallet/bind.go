package wallet

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"strings"
	"time"

	"katong"
	"katong/auth"
	"katong/sqlstore"
)

// Binding states.
const (
	bindActive   = "active"   // shown to the user
	bindRevoking = "revoking" // unbound; the consent's DELETE is still owed to the bank
	bindRevoked  = "revoked"
)

// bindTTL is how long a binding may take at the bank.
const bindTTL = 10 * time.Minute

// Card is a bound card as the user sees it.
type Card struct {
	ID      int64
	Bank    *Partner
	Masked  string // 6222 **** **** 7894
	Tail    string // 7894
	Product string // 储蓄卡
	BoundAt time.Time
}

// binding is a card's binding with what the bank link needs.
type binding struct {
	Card
	userID        int64
	p             *partner
	accountID     string
	status        string
	accessSealed  []byte
	refreshSealed []byte
	accessExpires time.Time
}

const bindingCols = `id, user_id, bank_id, account_id, card_masked, card_tail, access_sealed, refresh_sealed,
	access_expires, status, created_at`

func (w *Wallet) scanBinding(row interface{ Scan(...any) error }) (*binding, error) {
	var b binding
	var bankID string
	var exp, created int64
	err := row.Scan(&b.ID, &b.userID, &bankID, &b.accountID, &b.Masked, &b.Tail, &b.accessSealed,
		&b.refreshSealed, &exp, &b.status, &created)
	if err != nil {
		return nil, err
	}
	b.accessExpires, b.BoundAt, b.Product = time.UnixMicro(exp), time.UnixMicro(created), "储蓄卡"
	b.p = w.banks[katong.BankID(bankID)]
	if b.p != nil {
		b.Bank = b.p.Partner
	} else {
		b.Bank = &Partner{ID: katong.BankID(bankID), Name: bankID, NameEN: bankID, Colour: "#4b5563"}
	}
	return &b, nil
}

// binding returns the user's active binding of the card id. Another
// user's card is ENotFound, the same answer as no card at all (S8).
func (w *Wallet) binding(ctx context.Context, u *User, id int64) (*binding, error) {
	b, err := w.scanBinding(w.db.Row(ctx, `SELECT `+bindingCols+` FROM bindings
		WHERE id = $1 AND user_id = $2 AND status = $3`, id, u.ID, bindActive))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, katong.Errorf(katong.ENotFound, "no card %d for user %d", id, u.ID)
	}
	if err != nil {
		return nil, err
	}
	if b.p == nil {
		// The bank is no longer a partner: no call goes to it.
		return nil, katong.Errorf(katong.ECrossBank, "bank %s is not a partner bank", b.Bank.ID)
	}
	return b, nil
}

// BindingCache is how long a balance or records read may use a binding
// as this process last read it: a card unbound through another instance
// may still be read there for this long (never paid from: payments read
// the binding afresh). Unbinding and token refreshes here drop it at once.
const BindingCache = time.Second

// bindingToRead is binding for the reads of a card (balance, records),
// through the binding cache. The caller gets its own copy.
func (w *Wallet) bindingToRead(ctx context.Context, u *User, id int64) (*binding, error) {
	b, err := w.bindings.Load(id, w.cfg.Now(), func() (*binding, error) { return w.binding(ctx, u, id) })
	if err != nil {
		return nil, err
	}
	if b.userID != u.ID {
		return nil, katong.Errorf(katong.ENotFound, "no card %d for user %d", id, u.ID)
	}
	cp := *b
	return &cp, nil
}

// Cards returns the user's bound cards, oldest first.
func (w *Wallet) Cards(ctx context.Context, u *User) ([]*Card, error) {
	bs, err := sqlstore.All(ctx, w.db, w.scanBinding, `SELECT `+bindingCols+` FROM bindings WHERE user_id = $1 AND status = $2
		ORDER BY id`, u.ID, bindActive)
	if err != nil {
		return nil, err
	}
	var out []*Card
	for _, b := range bs {
		out = append(out, &b.Card)
	}
	return out, nil
}

// Card returns one of the user's cards. Returns ENotFound for a card that
// is not the user's.
func (w *Wallet) Card(ctx context.Context, u *User, id int64) (*Card, error) {
	b, err := w.binding(ctx, u, id)
	if err != nil {
		return nil, err
	}
	return &b.Card, nil
}

// StartBind begins binding the card number the user typed: it finds the
// issuing partner bank by BIN, creates an account-access consent there
// and returns the bank's page where the cardholder approves it. The OAuth
// state and PKCE verifier are kept server-side, bound to the user's
// session; the card number itself is kept only as a keyed hash and its
// masked form.
//
// Returns EInvalid (field card_number) for a malformed number or a card
// already bound, ECrossBank for a card of no partner bank (before any
// call), and the bank's codes (ENetwork…).
func (w *Wallet) StartBind(ctx context.Context, u *User, cardNumber string) (string, error) {
	pan, err := katong.NormalizeCard(cardNumber)
	if err != nil {
		return "", err
	}
	p := w.partnerFor(pan)
	if p == nil {
		return "", katong.Errorf(katong.ECrossBank, "card %s is of no partner bank", katong.MaskCard(pan))
	}
	mac := w.cfg.Vault.Lookup("wallet-pan", pan)
	if err := w.alreadyBound(ctx, u, mac); err != nil {
		return "", err
	}
	consent, err := p.link.createConsent(ctx)
	if err != nil {
		return "", p.wrap(err)
	}
	state, verifier := auth.NewToken(), auth.NewToken()
	sum := sha256.Sum256([]byte(verifier))
	now := w.cfg.Now()
	_, err = w.db.ExecContext(ctx, `INSERT INTO bind_attempts (state_hash, user_id, session_hash, bank_id, consent_id,
		verifier_sealed, card_hmac, card_masked, card_tail, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		auth.HashToken(state), u.ID, auth.HashToken(u.token), string(p.ID), consent, w.cfg.Vault.Seal("pkce", verifier),
		mac, katong.MaskCard(pan), katong.Tail(pan), now.UnixMicro(), now.Add(bindTTL).UnixMicro())
	if err != nil {
		return "", err
	}
	return p.link.authorizeURL(consent, state, base64.RawURLEncoding.EncodeToString(sum[:])), nil
}

// alreadyBound returns EInvalid (field card_number, errAlreadyBound) if
// the user has the card of keyed hash mac bound already.
func (w *Wallet) alreadyBound(ctx context.Context, u *User, mac []byte) error {
	var n int
	if err := w.db.Row(ctx, `SELECT count(*) FROM bindings WHERE user_id = $1 AND card_hmac = $2 AND status = $3`,
		u.ID, mac, bindActive).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return &katong.Error{Code: katong.EInvalid, Field: "card_number", Message: "this card is already bound", Err: errAlreadyBound}
	}
	return nil
}

// FinishBind completes a binding when the bank sends the cardholder back:
// it exchanges the code for the consent's tokens, finds among the approved
// accounts the one of the typed card (first four and last four digits of
// the masked identification) and stores the binding with its tokens
// sealed. denied is the bank's error parameter (access_denied: the
// cardholder rejected the consent).
//
// Returns EInvalid (field state) for a state that is unknown, expired,
// used or of another session; EForbidden when the cardholder refused;
// ENotFound when the approved accounts do not include the card.
func (w *Wallet) FinishBind(ctx context.Context, u *User, state, code, denied string) (*Card, error) {
	now := w.cfg.Now()
	var bankID, consent, masked, tail string
	var sealed, mac, session []byte
	var userID, expires, used int64
	err := w.db.Row(ctx, `SELECT user_id, session_hash, bank_id, consent_id, verifier_sealed, card_hmac,
		card_masked, card_tail, expires_at, used_at FROM bind_attempts WHERE state_hash = $1`, auth.HashToken(state)).
		Scan(&userID, &session, &bankID, &consent, &sealed, &mac, &masked, &tail, &expires, &used)
	if errors.Is(err, sql.ErrNoRows) || err == nil && (userID != u.ID || !bytes.Equal(session, auth.HashToken(u.token))) {
		return nil, katong.Invalid("state", "no binding in progress for this session")
	}
	if err != nil {
		return nil, err
	}
	if used != 0 || now.UnixMicro() >= expires {
		return nil, katong.Invalid("state", "the binding has expired or was finished already")
	}
	res, err := w.db.ExecContext(ctx, `UPDATE bind_attempts SET used_at = $1 WHERE state_hash = $2 AND used_at = 0`,
		now.UnixMicro(), auth.HashToken(state))
	if err != nil {
		return nil, err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return nil, katong.Invalid("state", "the binding was finished already")
	}
	p := w.banks[katong.BankID(bankID)]
	if p == nil {
		return nil, katong.Errorf(katong.ECrossBank, "bank %s is not a partner bank", bankID)
	}
	if denied != "" {
		err := katong.Errorf(katong.EForbidden, "the cardholder refused the consent at the bank (%.40s)", denied)
		w.audit(ctx, u.ID, "bind", masked, err)
		return nil, err
	}
	if code == "" {
		return nil, katong.Invalid("code", "no authorisation code")
	}
	verifier, err := w.cfg.Vault.Open("pkce", sealed)
	if err != nil {
		return nil, err
	}
	// From here on the consent is given back (revoked in the background)
	// whenever the binding does not come about.
	giveBack := func(err error) (*Card, error) {
		w.audit(ctx, u.ID, "bind", masked, err)
		_, err2 := w.db.ExecContext(context.WithoutCancel(ctx), `INSERT INTO bindings (user_id, bank_id, account_id,
			consent_id, card_hmac, card_masked, card_tail, status, created_at, unbound_at, revoke_next_at)
			VALUES ($1, $2, '', $3, $4, $5, $6, $7, $8, $8, $8)`, u.ID, bankID, consent, mac, masked, tail, bindRevoking, now.UnixMicro())
		if err2 != nil {
			w.log.Error("wallet: cannot queue a consent's revocation", "bank", bankID, "err", err2)
		}
		w.wake()
		return nil, err
	}
	tok, err := p.link.exchange(ctx, code, verifier)
	var accounts []obAccount
	if err == nil {
		accounts, err = p.link.accounts(ctx, tok.AccessToken)
	}
	if err != nil {
		return giveBack(p.wrap(err))
	}
	account := w.match(accounts, masked, tail, mac)
	if account == "" {
		return giveBack(katong.Errorf(katong.ENotFound, "the accounts approved at %s do not include the card", bankID))
	}
	b := &binding{Card: Card{Masked: masked, Tail: tail, Product: "储蓄卡", BoundAt: now, Bank: p.Partner}, p: p}
	err = w.db.QueryRowContext(ctx, `INSERT INTO bindings (user_id, bank_id, account_id, consent_id, card_hmac,
		card_masked, card_tail, access_sealed, refresh_sealed, access_expires, status, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id`,
		u.ID, bankID, account, consent, mac, masked, tail, w.cfg.Vault.Seal("access", tok.AccessToken),
		w.cfg.Vault.Seal("refresh", tok.RefreshToken), tok.expires(now).UnixMicro(), bindActive, now.UnixMicro()).Scan(&b.ID)
	if err != nil {
		// Most likely bound meanwhile (the unique index on active cards).
		if bound := w.alreadyBound(ctx, u, mac); errors.Is(bound, errAlreadyBound) {
			err = bound
		}
		return giveBack(err)
	}
	w.audit(ctx, u.ID, "bind", masked, nil)
	return &b.Card, nil
}

// match finds the approved account of the typed card: by the first four
// and last four digits of the masked PAN the bank shows, or by the keyed
// hash if the bank showed the whole number. Two candidates are no match:
// the wallet never guesses which account is the card's.
func (w *Wallet) match(accounts []obAccount, masked, tail string, mac []byte) string {
	first := masked[:4]
	found := ""
	for _, a := range accounts {
		for _, id := range a.Account {
			if !strings.Contains(strings.ToUpper(id.SchemeName), "PAN") && !strings.Contains(strings.ToUpper(id.SchemeName), "CARD") {
				continue
			}
			s := strings.NewReplacer(" ", "", "-", "").Replace(id.Identification)
			ok := false
			if _, err := katong.NormalizeCard(s); err == nil {
				ok = bytes.Equal(w.cfg.Vault.Lookup("wallet-pan", s), mac)
			} else if len(s) >= 12 {
				ok = s[:4] == first && s[len(s)-4:] == tail
			}
			if ok {
				if found != "" && found != a.AccountID {
					return ""
				}
				found = a.AccountID
			}
		}
	}
	return found
}

// Unbind removes the user's card at once and revokes its consent at the
// bank in the background (retried from durable state while the bank is
// down, after any payment of the card still pending is settled). Returns
// ENotFound for a card that is not the user's.
func (w *Wallet) Unbind(ctx context.Context, u *User, id int64) error {
	now := w.cfg.Now().UnixMicro()
	var masked string
	err := w.db.QueryRowContext(ctx, `UPDATE bindings SET status = $1, unbound_at = $2, revoke_next_at = $2
		WHERE id = $3 AND user_id = $4 AND status = $5 RETURNING card_masked`, bindRevoking, now, id, u.ID, bindActive).Scan(&masked)
	if errors.Is(err, sql.ErrNoRows) {
		return katong.Errorf(katong.ENotFound, "no card %d for user %d", id, u.ID)
	}
	if err != nil {
		return err
	}
	w.bindings.Drop(id)
	w.audit(ctx, u.ID, "unbind", masked, nil)
	w.wake()
	return nil
}

// revokePending DELETEs at the banks the consents of unbound cards that
// are due, once no payment of the card is pending (a payment in doubt is
// retried under the consent's token; a refund needs only the wallet's
// app token, so it holds nothing back).
func (w *Wallet) revokePending(ctx context.Context) error {
	type due struct {
		id      int64
		bank    string
		consent string
		tries   int64
	}
	scan := func(row sqlstore.Scanner) (due, error) {
		var d due
		err := row.Scan(&d.id, &d.bank, &d.consent, &d.tries)
		return d, err
	}
	now := w.cfg.Now()
	todo, err := sqlstore.All(ctx, w.db, scan, `SELECT id, bank_id, consent_id, revoke_tries FROM bindings b
		WHERE status = $1 AND revoke_next_at <= $2
		AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.binding_id = b.id AND p.status = $3)
		ORDER BY revoke_next_at LIMIT 100`, bindRevoking, now.UnixMicro(), payPending)
	if err != nil {
		return err
	}
	for _, d := range todo {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		p := w.banks[katong.BankID(d.bank)]
		err := errors.New("bank is no longer a partner")
		if p != nil {
			err = p.link.deleteConsent(ctx, d.consent)
		}
		if err == nil {
			_, err = w.db.ExecContext(ctx, `UPDATE bindings SET status = $1, access_sealed = NULL, refresh_sealed = NULL,
				revoke_error = '' WHERE id = $2`, bindRevoked, d.id)
			w.bindings.Drop(d.id)
			if err != nil {
				return err
			}
			continue
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		w.log.Warn("wallet: consent revocation deferred", "bank", d.bank, "binding", d.id, "code", katong.ErrorCode(err))
		if _, err := w.db.ExecContext(ctx, `UPDATE bindings SET revoke_tries = revoke_tries + 1, revoke_next_at = $1,
			revoke_error = $2 WHERE id = $3`, now.Add(w.backoff(d.tries+1)).UnixMicro(), string(katong.ErrorCode(err)), d.id); err != nil {
			return err
		}
	}
	return nil
}
