package teller

import (
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"katong"
	"katong/auth"
)

// statusChange reads the status form: the action and, for a freeze, the
// reason. The reason is shown to tellers later, so anything in it that
// reads as a card or ID number is masked.
func statusChange(q *req) (katong.AccountStatus, string, error) {
	var st katong.AccountStatus
	switch q.form("action") {
	case "freeze":
		st = katong.StatusFrozen
	case "unfreeze":
		st = katong.StatusActive
	default:
		return "", "", katong.Invalid("action", "action must be freeze or unfreeze")
	}
	reason := strings.TrimSpace(q.form("reason"))
	if st == katong.StatusActive {
		reason = ""
	}
	if st == katong.StatusFrozen && reason == "" {
		return "", "", katong.Invalid("reason", "a freeze needs a reason")
	}
	if utf8.RuneCountInString(reason) > maxReason || !utf8.ValidString(reason) {
		return "", "", katong.Invalid("reason", "reason longer than %d characters", maxReason)
	}
	return st, katong.Redact(reason), nil
}

// handleVisitStatus freezes or unfreezes the account of a checked card and
// shows the visit again.
func (c *Console) handleVisitStatus(q *req) {
	v, err := c.loadVisit(q.ctx(), q.tok, q.r.PathValue("id"))
	if err != nil {
		c.errorPage(q.w, q.r, q.lang, q.staff, q.tok, err)
		return
	}
	st, reason, err := statusChange(q)
	if err == nil {
		err = c.b.SetStatus(q.ctx(), q.staff, v.AccountID, st, reason)
	}
	if err != nil {
		c.showVisit(q, v, err)
		return
	}
	http.Redirect(q.w, q.r, c.prefix+"/visits/"+v.ID, http.StatusSeeOther)
}

// statusPage is the supervisor's freeze and unfreeze form by card number
// (no customer at the counter: risk control freezes an account), and its
// answer.
type statusPage struct {
	base
	Done       bool
	CardMasked string
	Holder     string
	StatusKey  string
	Reason     string
}

func (c *Console) handleStatusForm(q *req) {
	c.render(q.w, q.r, http.StatusOK, "status", statusPage{base: c.base(q.r, q.lang, q.staff, q.tok, "status_title")})
}

func (c *Console) handleStatus(q *req) {
	ctx := q.ctx()
	p := statusPage{base: c.base(q.r, q.lang, q.staff, q.tok, "status_title")}
	fail := func(err error) {
		p.Err = c.errBox(q.r, q.lang, err)
		c.render(q.w, q.r, status(p.Err), "status", p)
	}
	if strings.TrimSpace(q.form("card_number")) == "" {
		fail(katong.Invalid("card_number", "card number is required"))
		return
	}
	pan, err := katong.NormalizeCard(q.form("card_number"))
	if err != nil {
		fail(err)
		return
	}
	st, reason, err := statusChange(q)
	if err != nil {
		fail(err)
		return
	}
	card, err := c.b.CardByNumber(ctx, pan)
	if err != nil {
		if katong.ErrorCode(err) == katong.ENotFound {
			if aerr := c.b.Auth.Audit(ctx, auth.Record{Channel: katong.ChannelCounter, Actor: "supervisor:" + q.staff.Username + "@" + q.staff.Branch,
				Action: "set_status:" + string(st), Card: katong.MaskCard(pan), Result: string(katong.ENotFound)}); aerr != nil {
				err = aerr
			}
		}
		fail(err)
		return
	}
	if err := c.b.SetStatus(ctx, q.staff, card.AccountID, st, reason); err != nil {
		fail(err)
		return
	}
	full, err := c.b.CardNumber(ctx, card.ID)
	if err != nil {
		fail(err)
		return
	}
	cust, err := c.b.Customer(ctx, card.CustomerID)
	if err != nil {
		fail(err)
		return
	}
	p.Done, p.CardMasked, p.Holder, p.StatusKey, p.Reason = true, katong.MaskCardTeller(full), katong.MaskName(cust.Name), "status_"+string(st), reason
	c.render(q.w, q.r, http.StatusOK, "status", p)
}

// auditRow is an audit record as the page shows it.
type auditRow struct {
	ID      int64
	At      string
	Channel string
	Actor   string
	Action  string
	Card    string
	Result  string
	Detail  string
}

// auditPageData is a page of the audit log, newest first.
type auditPageData struct {
	base
	Rows  []auditRow
	Older int64 // the before= of the next page, 0 if none
	Paged bool  // not the first page
}

// handleAudit shows the audit log, auditPage records a page; ?before=ID
// pages back.
func (c *Console) handleAudit(q *req) {
	var before int64
	if s := q.r.URL.Query().Get("before"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 {
			c.errorPage(q.w, q.r, q.lang, q.staff, q.tok, katong.Invalid("before", "before must be a record number"))
			return
		}
		before = n
	}
	recs, err := c.b.Auth.AuditLog(q.ctx(), before, auditPage+1)
	if err != nil {
		c.errorPage(q.w, q.r, q.lang, q.staff, q.tok, err)
		return
	}
	p := auditPageData{base: c.base(q.r, q.lang, q.staff, q.tok, "audit_title"), Paged: before > 0}
	if len(recs) > auditPage {
		recs = recs[:auditPage]
		p.Older = recs[len(recs)-1].ID
	}
	for _, r := range recs {
		p.Rows = append(p.Rows, auditRow{ID: r.ID, At: shanghai(r.At), Channel: string(r.Channel), Actor: r.Actor,
			Action: r.Action, Card: r.Card, Result: r.Result, Detail: r.Detail})
	}
	c.render(q.w, q.r, http.StatusOK, "audit", p)
}
