package bankapp

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"katong"
)

// recordsQuery is a request for a page of an account's records.
type recordsQuery struct {
	From, To         *time.Time // [From, To)
	FromText, ToText string     // as typed, for links and forms
	Cursor           int64      // entries with ids below it; 0 for the newest
	Limit            int
}

// maxCSVRows bounds one CSV export.
const maxCSVRows = 100000

// parseDay reads a date (YYYY-MM-DD, a day in Asia/Shanghai) or an RFC
// 3339 time. A date as the upper bound means the whole day.
func parseDay(field, s string, upper bool) (*time.Time, error) {
	if s == "" {
		return nil, nil
	}
	if len(s) > 40 {
		return nil, katong.Invalid(field, "too long")
	}
	if d, err := time.ParseInLocation(time.DateOnly, s, katong.Shanghai); err == nil {
		if upper {
			d = d.AddDate(0, 0, 1)
		}
		return &d, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return &t, nil
	}
	return nil, katong.Invalid(field, "want a date YYYY-MM-DD or an RFC 3339 time")
}

// parseRecordsQuery reads from, to, cursor and limit.
func parseRecordsQuery(r *http.Request, defLimit, maxLimit int) (*recordsQuery, error) {
	v := r.URL.Query()
	q := &recordsQuery{FromText: v.Get("from"), ToText: v.Get("to"), Limit: defLimit}
	var err error
	if q.From, err = parseDay("from", q.FromText, false); err != nil {
		return nil, err
	}
	if q.To, err = parseDay("to", q.ToText, true); err != nil {
		return nil, err
	}
	if q.From != nil && q.To != nil && !q.From.Before(*q.To) {
		return nil, katong.Invalid("to", "to must not be before from")
	}
	if c := v.Get("cursor"); c != "" {
		n, err := strconv.ParseInt(c, 10, 64)
		if err != nil || n <= 0 {
			return nil, katong.Invalid("cursor", "not a cursor of this list")
		}
		q.Cursor = n
	}
	if l := v.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > maxLimit {
			return nil, katong.Invalid("limit", "limit must be 1 to %d", maxLimit)
		}
		q.Limit = n
	}
	return q, nil
}

// recordsPage is one page of records, newest first.
type recordsPage struct {
	Entries []katong.Entry
	Next    int64 // cursor of the next page, 0 if none
}

func (a *App) recordsPage(ctx context.Context, id katong.AccountID, q *recordsQuery) (*recordsPage, error) {
	es, err := a.bank.DB.Ledger().Entries(ctx, id, katong.EntryFilter{From: q.From, To: q.To, Before: q.Cursor, Limit: q.Limit + 1})
	if err != nil {
		return nil, err
	}
	p := &recordsPage{Entries: es}
	if len(es) > q.Limit {
		p.Entries = es[:q.Limit]
		p.Next = es[q.Limit-1].ID
	}
	return p, nil
}

// allRecords returns every record the query selects (its cursor and
// limit aside), newest first, at most maxCSVRows.
func (a *App) allRecords(ctx context.Context, id katong.AccountID, q *recordsQuery) ([]katong.Entry, error) {
	var out []katong.Entry
	var before int64
	for len(out) < maxCSVRows {
		es, err := a.bank.DB.Ledger().Entries(ctx, id, katong.EntryFilter{From: q.From, To: q.To, Before: before, Limit: 1000})
		if err != nil {
			return nil, err
		}
		out = append(out, es...)
		if len(es) < 1000 {
			break
		}
		before = es[len(es)-1].ID
	}
	if len(out) > maxCSVRows {
		out = out[:maxCSVRows]
	}
	return out, nil
}

// csvText keeps a spreadsheet from reading a text cell as a formula.
func csvText(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// writeCSV writes the records, oldest first, as UTF-8 CSV with a byte
// order mark (so that spreadsheet programs read the Chinese right).
func writeCSV(w http.ResponseWriter, id katong.AccountID, q *recordsQuery, entries []katong.Entry, lang katong.Lang) {
	name := "transactions-" + id64(id)
	if q.FromText != "" {
		name += "-from-" + safeName(q.FromText)
	}
	if q.ToText != "" {
		name += "-to-" + safeName(q.ToText)
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.csv"`)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	w.Write([]byte("\ufeff"))
	cw := csv.NewWriter(w)
	header := []string{"交易时间", "交易类型", "摘要", "金额(元)", "余额(元)", "流水号"}
	if lang == katong.EN {
		header = []string{"time", "type", "memo", "amount (CNY)", "balance after (CNY)", "entry id"}
	}
	cw.Write(header)
	for i := len(entries) - 1; i >= 0; i-- {
		e := entries[i]
		cw.Write([]string{e.At.In(katong.Shanghai).Format(time.DateTime), csvText(e.Kind.Text(lang)),
			csvText(katong.Redact(e.Memo)), e.Amount.String(), e.BalanceAfter.String(), id64(e.ID)})
	}
	cw.Flush()
}

// safeName keeps digits, letters and '-' of a file name part.
func safeName(s string) string {
	var b strings.Builder
	for _, c := range s {
		if c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-' {
			b.WriteRune(c)
		}
	}
	return b.String()
}

// joinComma joins with ", ".
func joinComma(s []string) string { return strings.Join(s, ", ") }

// writeJSONBody encodes v on w.
func writeJSONBody(w http.ResponseWriter, v any) { json.NewEncoder(w).Encode(v) }
