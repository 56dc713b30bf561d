// Package twiml is the phone line for cloud telephony: a webhook speaking
// Twilio's dialect (TwiML; SignalWire, Telnyx and Kazoo speak it too).
// The provider POSTs the call's fields and the keys gathered; the handler
// checks the X-Twilio-Signature, runs the ivr engine one turn, and answers
// with <Gather>/<Say>, <Dial> or <Hangup/>. Between turns the call's state
// lives in the bank's database (table ivr_calls), with any card digits
// sealed, so any instance can serve the next turn.
package twiml

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"database/sql"
	"encoding/base64"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"katong"
	"katong/bank"
	"katong/ivr"
	"katong/web"
)

// Handler serves one bank's line at /banks/{bank}/ivr/twiml.
type Handler struct {
	bank  *bank.Bank
	line  *ivr.Line
	token string
	log   *slog.Logger
	// PublicURL is the scheme and host the provider calls
	// ("https://ivr.bank.example") when the server sits behind a proxy
	// that changes them; requests are signed over the URL the provider
	// used. Empty takes them from the request.
	PublicURL string
	// CallTTL is how long a call's state is kept after its last turn.
	CallTTL time.Duration
}

// New returns the webhook of bank b's line. authToken is the provider
// account's auth token, which signs every request; with an empty token
// every request is refused.
func New(b *bank.Bank, cfg ivr.Config, authToken string, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Handler{bank: b, line: ivr.New(cfg, b, func() time.Time { return b.Now() }), token: authToken,
		log: log.With("channel", "twiml", "bank", string(b.Config.ID)), CallTTL: time.Hour}
}

// Path is where the bank's webhook is: the voice URL to configure at the
// provider.
func Path(b katong.BankID) string { return "/banks/" + string(b) + "/ivr/twiml" }

// Register adds the webhook: the call's start, the gather actions and the
// status callback.
func (h *Handler) Register(mux *http.ServeMux) {
	base := Path(h.bank.Config.ID)
	mux.HandleFunc("POST "+base, h.handleStart)
	mux.HandleFunc("POST "+base+"/key", h.handleGather)
	mux.HandleFunc("POST "+base+"/number", h.handleGather)
	mux.HandleFunc("POST "+base+"/status", h.handleStatus)
}

// Sign is the X-Twilio-Signature of a request: base64 of the HMAC-SHA1,
// keyed with the auth token, of the full URL followed by each POST
// parameter's name and value in name order.
func Sign(token, fullURL string, form url.Values) string {
	m := hmac.New(sha1.New, []byte(token))
	m.Write([]byte(fullURL))
	names := make([]string, 0, len(form))
	for k := range form {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		vs := append([]string(nil), form[k]...)
		sort.Strings(vs)
		for _, v := range vs {
			m.Write([]byte(k))
			m.Write([]byte(v))
		}
	}
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// fullURL is the URL the provider requested.
func (h *Handler) fullURL(r *http.Request) string {
	if h.PublicURL != "" {
		return strings.TrimSuffix(h.PublicURL, "/") + r.URL.RequestURI()
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + r.URL.RequestURI()
}

// verify parses the form and checks its signature. Providers sign the
// URL with or without a default port; both are tried.
func (h *Handler) verify(w http.ResponseWriter, r *http.Request) error {
	if err := web.ParseForm(w, r); err != nil {
		return err
	}
	got := r.Header.Get("X-Twilio-Signature")
	if h.token == "" || got == "" {
		return katong.Errorf(katong.EForbidden, "unsigned request")
	}
	u := h.fullURL(r)
	candidates := []string{u}
	if pu, err := url.Parse(u); err == nil {
		if host, _, err := net.SplitHostPort(pu.Host); err == nil {
			pu.Host = host
			candidates = append(candidates, pu.String())
		}
	}
	for _, c := range candidates {
		if hmac.Equal([]byte(Sign(h.token, c, r.PostForm)), []byte(got)) {
			return nil
		}
	}
	return katong.Errorf(katong.EForbidden, "bad signature")
}

// call checks a request (form, signature) and returns its call id.
func (h *Handler) call(w http.ResponseWriter, r *http.Request) (string, error) {
	if err := h.verify(w, r); err != nil {
		return "", err
	}
	return callSid(r)
}

// callSid returns the request's call id: provider ids are short and
// plain ("CA" and 32 hex digits for Twilio, a UUID elsewhere).
func callSid(r *http.Request) (string, error) {
	sid := r.PostForm.Get("CallSid")
	if sid == "" || len(sid) > 64 {
		return "", katong.Invalid("CallSid", "missing or too long")
	}
	for _, c := range sid {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return "", katong.Invalid("CallSid", "unexpected character")
		}
	}
	return sid, nil
}

// handleStart answers a new call: the greeting and the menu.
func (h *Handler) handleStart(w http.ResponseWriter, r *http.Request) {
	sid, err := h.call(w, r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.log.Info("call", "call_sid", sid, "from", katong.MaskMobile(r.PostForm.Get("From")))
	h.start(w, r, sid)
}

// start begins the call sid at its greeting.
func (h *Handler) start(w http.ResponseWriter, r *http.Request, sid string) {
	ctx := r.Context()
	c := h.line.Call(r.PostForm.Get("From"), "twiml "+sid)
	acts := c.Start()
	if err := h.save(ctx, sid, c, 0); err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, acts)
}

// handleGather takes what a <Gather> collected: one menu key (…/key) or
// a number ended by # (…/number).
func (h *Handler) handleGather(w http.ResponseWriter, r *http.Request) {
	sid, err := h.call(w, r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ctx := r.Context()
	c, version, err := h.load(ctx, sid)
	if katong.ErrorCode(err) == katong.ENotFound {
		// The state expired or the call is unknown: start over.
		h.start(w, r, sid)
		return
	} else if err != nil {
		h.fail(w, r, err)
		return
	}
	var acts []ivr.Action
	step := func(a []ivr.Action) {
		acts = append(acts, a...)
	}
	digits := r.PostForm.Get("Digits")
	number := strings.HasSuffix(r.URL.Path, "/number")
	_, hasFinished := r.PostForm["FinishedOnKey"]
	finished := r.PostForm.Get("FinishedOnKey") == "#" || !hasFinished && digits != ""
	for _, k := range digits {
		if c.Done() {
			break
		}
		step(c.Key(ctx, k))
	}
	switch {
	case c.Done():
	case number && finished:
		step(c.Key(ctx, '#'))
	case digits == "" || number:
		// Nothing typed in time, or a number left without its #.
		step(c.Timeout())
	}
	if err := h.save(ctx, sid, c, version); err != nil {
		h.fail(w, r, err)
		return
	}
	if len(acts) == 0 {
		// Still typing a number: keep listening, silently.
		acts = []ivr.Action{{Kind: ivr.Collect, Finish: '#', Timeout: h.line.Config().DigitTimeout}}
	}
	h.render(w, acts)
}

// handleStatus is the status callback: a call that ended leaves nothing
// behind.
func (h *Handler) handleStatus(w http.ResponseWriter, r *http.Request) {
	sid, err := h.call(w, r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	switch r.PostForm.Get("CallStatus") {
	case "completed", "busy", "failed", "no-answer", "canceled":
		if err := h.drop(r.Context(), sid); err != nil {
			h.fail(w, r, err)
			return
		}
		h.log.Info("call ended", "call_sid", sid, "status", r.PostForm.Get("CallStatus"))
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	web.Error(w, r, h.log, err, h.bank.Config.Support)
}

// load returns the call's state and its version. Returns ENotFound if
// there is none or it expired.
func (h *Handler) load(ctx context.Context, sid string) (*ivr.Call, int64, error) {
	var data []byte
	var version, expires int64
	err := h.bank.DB.Row(ctx, `SELECT state, version, expires_at FROM ivr_calls WHERE call_sid = $1`, sid).
		Scan(&data, &version, &expires)
	if errors.Is(err, sql.ErrNoRows) || err == nil && expires <= h.bank.Now().UnixMicro() {
		return nil, 0, katong.Errorf(katong.ENotFound, "no call %s", sid)
	} else if err != nil {
		return nil, 0, err
	}
	c, err := h.line.Resume(data, h.bank.Vault)
	if err != nil {
		return nil, 0, err
	}
	return c, version, nil
}

// save stores the call after a turn, or forgets it when it is over. A
// version of 0 is a new call. When another request changed the call since
// load (a provider's retry), the first one's state stands.
func (h *Handler) save(ctx context.Context, sid string, c *ivr.Call, version int64) error {
	if c.Done() {
		return h.drop(ctx, sid)
	}
	data, err := c.MarshalState(h.bank.Vault)
	if err != nil {
		return err
	}
	now := h.bank.Now()
	exp := now.Add(h.CallTTL).UnixMicro()
	if version == 0 {
		_, err := h.bank.DB.ExecContext(ctx, `INSERT INTO ivr_calls (call_sid, state, version, expires_at, updated_at)
			VALUES ($1, $2, 1, $3, $4)
			ON CONFLICT (call_sid) DO UPDATE SET state = excluded.state, version = ivr_calls.version + 1,
				expires_at = excluded.expires_at, updated_at = excluded.updated_at`, sid, data, exp, now.UnixMicro())
		return err
	}
	res, err := h.bank.DB.ExecContext(ctx, `UPDATE ivr_calls SET state = $1, version = version + 1, expires_at = $2, updated_at = $3
		WHERE call_sid = $4 AND version = $5`, data, exp, now.UnixMicro(), sid, version)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		h.log.Warn("call changed by another request; keeping its state", "call_sid", sid)
	}
	return nil
}

func (h *Handler) drop(ctx context.Context, sid string) error {
	_, err := h.bank.DB.ExecContext(ctx, `DELETE FROM ivr_calls WHERE call_sid = $1`, sid)
	return err
}

// Purge forgets expired calls (the housekeeping of katong serve runs it
// hourly; a call whose state expired starts over).
func (h *Handler) Purge(ctx context.Context) error {
	_, err := h.bank.DB.ExecContext(ctx, `DELETE FROM ivr_calls WHERE expires_at <= $1`, h.bank.Now().UnixMicro())
	return err
}
