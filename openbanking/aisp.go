package openbanking

import (
	"context"
	"encoding/json"
	"io"
	"math"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"katong"
	"katong/bank"
	"katong/sqlstore"
	"katong/web"
)

// Permission codes. Only these are supported; the other codes of the
// spec (beneficiaries, statements, ReadPAN, …) are refused on creation.
const (
	PermAccountsBasic      = "ReadAccountsBasic"
	PermAccountsDetail     = "ReadAccountsDetail"
	PermBalances           = "ReadBalances"
	PermTransactionsBasic  = "ReadTransactionsBasic"
	PermTransactionsDetail = "ReadTransactionsDetail"
	PermCredits            = "ReadTransactionsCredits"
	PermDebits             = "ReadTransactionsDebits"
)

var supported = map[string]bool{PermAccountsBasic: true, PermAccountsDetail: true, PermBalances: true,
	PermTransactionsBasic: true, PermTransactionsDetail: true, PermCredits: true, PermDebits: true}

// specPermissions are every permission code of OBIE v4.0, to tell an
// unknown code from a known but unsupported one.
var specPermissions = map[string]bool{"ReadAccountsBasic": true, "ReadAccountsDetail": true, "ReadBalances": true,
	"ReadBeneficiariesBasic": true, "ReadBeneficiariesDetail": true, "ReadDirectDebits": true, "ReadOffers": true,
	"ReadPAN": true, "ReadParty": true, "ReadPartyPSU": true, "ReadProducts": true, "ReadScheduledPaymentsBasic": true,
	"ReadScheduledPaymentsDetail": true, "ReadStandingOrdersBasic": true, "ReadStandingOrdersDetail": true,
	"ReadStatementsBasic": true, "ReadStatementsDetail": true, "ReadTransactionsBasic": true,
	"ReadTransactionsCredits": true, "ReadTransactionsDebits": true, "ReadTransactionsDetail": true}

// cst is the bank's time zone as a fixed offset: every API time is
// written "+08:00".
var cst = time.FixedZone("CST", 8*3600)

func obTime(us int64) string { return time.UnixMicro(us).In(cst).Format(time.RFC3339) }

// registerAPI adds the API routes to the server's inner mux.
func (s *Server) registerAPI(mux *http.ServeMux) {
	a := s.aisp()
	mux.HandleFunc("POST "+a+"/account-access-consents", s.withApp(s.handleCreateConsent))
	mux.HandleFunc("GET "+a+"/account-access-consents/{ConsentId}", s.withApp(s.handleGetConsent))
	mux.HandleFunc("DELETE "+a+"/account-access-consents/{ConsentId}", s.withApp(s.handleDeleteConsent))
	mux.HandleFunc("GET "+a+"/accounts", s.withConsent(cached, s.handleAccounts))
	mux.HandleFunc("GET "+a+"/accounts/{AccountId}", s.withConsent(cached, s.handleAccount))
	mux.HandleFunc("GET "+a+"/accounts/{AccountId}/balances", s.withConsent(cached, s.handleBalances))
	mux.HandleFunc("GET "+a+"/accounts/{AccountId}/transactions", s.withConsent(cached, s.handleTransactions))
	p := s.pisp()
	mux.HandleFunc("POST "+p+"/wallet-payments", s.withConsent(fresh, s.handleCreatePayment))
	mux.HandleFunc("GET "+p+"/wallet-payments/{WalletPaymentId}", s.withClient(s.handleGetPayment))
	mux.HandleFunc("POST "+p+"/wallet-payments/{WalletPaymentId}/refunds", s.withClient(s.handleRefund))
}

// serveAPI sets what every API answer carries, the interaction id and
// no-store, and hands the request to the inner mux.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	id := r.Header.Get("x-fapi-interaction-id")
	if !goodInteractionID(id) {
		id = katong.NewKey()
	}
	h := w.Header()
	h.Set("x-fapi-interaction-id", id)
	h.Set("Cache-Control", "no-store")
	s.api.ServeHTTP(&apiWriter{ResponseWriter: w}, r)
}

// goodInteractionID accepts what can be echoed safely: 1–128 visible
// ASCII characters.
func goodInteractionID(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// apiWriter gives the mux's own 404 and 405 answers their X-Katong-Code.
type apiWriter struct {
	http.ResponseWriter
	wrote bool
}

func (w *apiWriter) WriteHeader(code int) {
	if !w.wrote && (code == http.StatusNotFound || code == http.StatusMethodNotAllowed) && w.Header().Get("X-Katong-Code") == "" {
		w.Header().Set("X-Katong-Code", string(katong.EInvalid))
	}
	w.wrote = true
	w.ResponseWriter.WriteHeader(code)
}

func (w *apiWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

func (w *apiWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// acceptsJSON reports whether the Accept header allows application/json.
func acceptsJSON(r *http.Request) bool {
	vals := r.Header.Values("Accept")
	if len(vals) == 0 {
		return true
	}
	for _, v := range vals {
		for _, part := range strings.Split(v, ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			mt, params, err := mime.ParseMediaType(part)
			if err != nil {
				continue
			}
			if q, ok := params["q"]; ok {
				if f, err := strconv.ParseFloat(q, 64); err != nil || f <= 0 {
					continue
				}
			}
			switch mt {
			case "*/*", "application/*", "application/json":
				return true
			}
		}
	}
	return false
}

// jsonBody reads a JSON request body strictly, after checking its
// Content-Type (415 otherwise).
func jsonBody(w http.ResponseWriter, r *http.Request, v any) error {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" || (params["charset"] != "" && !strings.EqualFold(params["charset"], "utf-8")) {
		return obErr(cUnsupportedType, "Content-Type", "the body must be application/json")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, web.MaxBody))
	if err != nil {
		return katong.Errorf(katong.ETooLarge, "body larger than %d bytes", web.MaxBody)
	}
	if err := web.DecodeBytes(body, v); err != nil {
		e := katong.AsError(err)
		if e.Field == "body" {
			return obErr(cMalformed, "", e.Message)
		}
		return err
	}
	return nil
}

// caller is who makes an API request.
type caller struct {
	client  *client
	token   *token
	consent *consent // for a consent (PSU) token
}

// grants says how a guard reads the token and its consent: afresh, or
// through the grant cache (only the account-information data endpoints:
// nothing that moves money or changes a consent).
type grants bool

const (
	fresh  grants = false
	cached grants = true
)

// authorise checks Accept and the bearer token. Unknown, expired or
// revoked tokens are EUnauthorized (401).
func (s *Server) authorise(r *http.Request, g grants) (*caller, error) {
	if !acceptsJSON(r) {
		return nil, obErr(cNotAcceptable, "Accept", "only application/json is served")
	}
	t, err := s.lookupToken(r.Context(), web.BearerToken(r), "", g)
	if err != nil {
		return nil, err
	}
	if t.Kind == "refresh" {
		return nil, katong.Errorf(katong.EUnauthorized, "a refresh token is not an access token")
	}
	c, ok := s.clients[t.ClientID]
	if !ok {
		return nil, katong.Errorf(katong.EUnauthorized, "client no longer registered")
	}
	return &caller{client: c, token: t}, nil
}

// withApp guards the consent endpoints: a client-credentials token.
func (s *Server) withApp(h func(http.ResponseWriter, *http.Request, *caller) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := s.authorise(r, fresh)
		if err == nil && c.token.Kind != "app" {
			err = obErr(cOutsideConsent, "", "this endpoint needs a client-credentials token")
		}
		if err == nil {
			err = h(w, r, c)
		}
		if err != nil {
			s.fail(w, r, err)
		}
	}
}

// withClient guards endpoints any token of the client may call.
func (s *Server) withClient(h func(http.ResponseWriter, *http.Request, *caller) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := s.authorise(r, fresh)
		if err == nil && c.token.Kind == "access" {
			c.consent, err = s.liveConsent(r.Context(), c.token.ConsentID, fresh)
		}
		if err == nil {
			err = h(w, r, c)
		}
		if err != nil {
			s.fail(w, r, err)
		}
	}
}

// withConsent guards the data endpoints: a token bound to an authorised,
// unexpired consent, read through the grant cache (g) or afresh. An
// expired consent becomes EXPD (TKXP) and the answer is 401.
func (s *Server) withConsent(g grants, h func(http.ResponseWriter, *http.Request, *caller) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := s.authorise(r, g)
		if err == nil && c.token.Kind != "access" {
			err = obErr(cOutsideConsent, "", "this endpoint needs a token bound to a consent")
		}
		if err == nil {
			c.consent, err = s.liveConsent(r.Context(), c.token.ConsentID, g)
		}
		if err == nil {
			err = h(w, r, c)
		}
		if err != nil {
			s.fail(w, r, err)
		}
	}
}

// liveConsent returns the consent of a token if it is AUTH and unexpired,
// read afresh or through the grant cache (g).
func (s *Server) liveConsent(ctx context.Context, id string, g grants) (*consent, error) {
	cons, err := s.consentFor(ctx, id, g)
	if katong.ErrorCode(err) == cUnknownID {
		return nil, katong.Errorf(katong.EUnauthorized, "consent deleted")
	} else if err != nil {
		return nil, err
	}
	if cons.Status == StatusAUTH && cons.expired(s.bank.Now()) {
		if err := s.expire(ctx, cons); err != nil {
			return nil, err
		}
	}
	if cons.Status != StatusAUTH {
		return nil, katong.Errorf(katong.EUnauthorized, "consent is %s", cons.Status)
	}
	return cons, nil
}

// writeJSON writes an API answer.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

type links struct {
	Self  string `json:"Self"`
	First string `json:"First,omitempty"`
	Prev  string `json:"Prev,omitempty"`
	Next  string `json:"Next,omitempty"`
	Last  string `json:"Last,omitempty"`
}

type meta struct {
	TotalPages int `json:"TotalPages"`
}

// ---- consents ----

type consentRequest struct {
	Data *struct {
		Permissions             []string `json:"Permissions"`
		ExpirationDateTime      *string  `json:"ExpirationDateTime"`
		TransactionFromDateTime *string  `json:"TransactionFromDateTime"`
		TransactionToDateTime   *string  `json:"TransactionToDateTime"`
	} `json:"Data"`
	Risk *struct{} `json:"Risk"`
}

type statusReason struct {
	StatusReasonCode        string `json:"StatusReasonCode,omitempty"`
	StatusReasonDescription string `json:"StatusReasonDescription,omitempty"`
}

type consentData struct {
	ConsentID               string         `json:"ConsentId"`
	CreationDateTime        string         `json:"CreationDateTime"`
	Status                  string         `json:"Status"`
	StatusReason            []statusReason `json:"StatusReason,omitempty"`
	StatusUpdateDateTime    string         `json:"StatusUpdateDateTime"`
	Permissions             []string       `json:"Permissions"`
	ExpirationDateTime      string         `json:"ExpirationDateTime,omitempty"`
	TransactionFromDateTime string         `json:"TransactionFromDateTime,omitempty"`
	TransactionToDateTime   string         `json:"TransactionToDateTime,omitempty"`
}

type consentResponse struct {
	Data  consentData `json:"Data"`
	Risk  struct{}    `json:"Risk"`
	Links links       `json:"Links"`
	Meta  meta        `json:"Meta"`
}

var reasonText = map[string]string{
	"TKXP": "consent expired",
	"TKSP": "revoked by the customer at the bank",
	"TKCL": "deleted by the client",
}

func (s *Server) consentBody(r *http.Request, c *consent) consentResponse {
	d := consentData{ConsentID: c.ID, CreationDateTime: obTime(c.Created), Status: c.Status,
		StatusUpdateDateTime: obTime(c.Updated), Permissions: c.Permissions, ExpirationDateTime: c.Expiration,
		TransactionFromDateTime: c.TxFrom, TransactionToDateTime: c.TxTo}
	if c.Reason != "" {
		d.StatusReason = []statusReason{{StatusReasonCode: c.Reason, StatusReasonDescription: reasonText[c.Reason]}}
	}
	return consentResponse{Data: d, Links: links{Self: s.absolute(r, s.aisp()+"/account-access-consents/"+url.PathEscape(c.ID))},
		Meta: meta{TotalPages: 1}}
}

// checkPermissions applies the permission rules of NOTES.md §4.4.
func checkPermissions(perms []string) error {
	const path = "Data.Permissions"
	if perms == nil {
		return obErr(cMissingField, path, "Permissions is required")
	}
	if len(perms) == 0 {
		return obErr(katong.EInvalid, path, "Permissions must not be empty")
	}
	has := map[string]bool{}
	for _, p := range perms {
		if !specPermissions[p] {
			return obErr(katong.EInvalid, path, "unknown permission "+strconv.Quote(p))
		}
		if !supported[p] {
			return obErr(katong.EInvalid, path, "permission "+p+" is not supported by this bank")
		}
		has[p] = true
	}
	if !has[PermAccountsBasic] && !has[PermAccountsDetail] {
		return obErr(cExpectedField, path, "ReadAccountsBasic or ReadAccountsDetail is required")
	}
	txn := has[PermTransactionsBasic] || has[PermTransactionsDetail]
	dir := has[PermCredits] || has[PermDebits]
	if txn && !dir {
		return obErr(cExpectedField, path, "ReadTransactionsBasic/Detail needs ReadTransactionsCredits or ReadTransactionsDebits")
	}
	if dir && !txn {
		return obErr(cExpectedField, path, "ReadTransactionsCredits/Debits needs ReadTransactionsBasic or ReadTransactionsDetail")
	}
	return nil
}

// consentTime parses a date-time of a consent: RFC 3339 is kept as sent;
// a time without a zone is taken in Asia/Shanghai and written with +08:00.
func consentTime(v *string, path string) (string, int64, error) {
	if v == nil {
		return "", 0, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, *v); err == nil {
		return *v, t.UnixMicro(), nil
	}
	t, err := parseLenient(*v)
	if err != nil {
		return "", 0, obErr(cBadDate, path, "not an ISO 8601 date-time")
	}
	return t.Format(time.RFC3339), t.UnixMicro(), nil
}

// parseLenient reads an ISO 8601 date or date-time, ignoring any zone:
// the wall-clock time is taken in the bank's zone (+08:00). It accepts
// "2026-05-01", "2026-05-01T10:30", "2026-05-01T10:30:00", with
// fractional seconds, and with a zone ("Z", "+01:00", "+0100").
func parseLenient(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if len(s) > 10 && (s[10] == 'T' || s[10] == 't' || s[10] == ' ') {
		rest := s[11:]
		// Strip a zone.
		if i := strings.IndexAny(rest, "Zz+-"); i >= 0 {
			rest = rest[:i]
		}
		s = s[:10] + "T" + rest
	}
	for _, layout := range []string{"2006-01-02T15:04:05.999999999", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, cst); err == nil {
			return t, nil
		}
	}
	return time.Time{}, katong.Invalid("date", "not an ISO 8601 date-time")
}

func (s *Server) handleCreateConsent(w http.ResponseWriter, r *http.Request, c *caller) error {
	var req consentRequest
	if err := jsonBody(w, r, &req); err != nil {
		return err
	}
	if req.Data == nil {
		return obErr(cMissingField, "Data", "Data is required")
	}
	if req.Risk == nil {
		return obErr(cMissingField, "Risk", "Risk is required")
	}
	if err := checkPermissions(req.Data.Permissions); err != nil {
		return err
	}
	now := s.bank.Now()
	cons := &consent{ID: newID("aac-"), ClientID: c.client.ID, Permissions: req.Data.Permissions, Status: StatusAWAU,
		Created: now.UnixMicro(), Updated: now.UnixMicro()}
	var err error
	if cons.Expiration, cons.ExpiresAt, err = consentTime(req.Data.ExpirationDateTime, "Data.ExpirationDateTime"); err != nil {
		return err
	}
	if cons.Expiration != "" && cons.ExpiresAt <= now.UnixMicro() {
		return obErr(cBadDate, "Data.ExpirationDateTime", "the expiry is in the past")
	}
	if cons.TxFrom, cons.TxFromAt, err = consentTime(req.Data.TransactionFromDateTime, "Data.TransactionFromDateTime"); err != nil {
		return err
	}
	if cons.TxTo, cons.TxToAt, err = consentTime(req.Data.TransactionToDateTime, "Data.TransactionToDateTime"); err != nil {
		return err
	}
	if cons.TxFrom != "" && cons.TxTo != "" && cons.TxFromAt > cons.TxToAt {
		return obErr(cBadDate, "Data.TransactionToDateTime", "TransactionToDateTime is before TransactionFromDateTime")
	}
	if err := s.insertConsent(r.Context(), cons); err != nil {
		return err
	}
	w.Header().Set("Location", s.absolute(r, s.aisp()+"/account-access-consents/"+cons.ID))
	writeJSON(w, http.StatusCreated, s.consentBody(r, cons))
	return nil
}

// ownConsent returns the client's consent of the path; another client's
// consent is unknown, as a missing one is (400 U011).
func (s *Server) ownConsent(r *http.Request, c *caller) (*consent, error) {
	cons, err := s.consent(r.Context(), r.PathValue("ConsentId"))
	if err != nil {
		return nil, err
	}
	if cons.ClientID != c.client.ID {
		return nil, obErr(cUnknownID, "ConsentId", "no such consent")
	}
	if (cons.Status == StatusAUTH || cons.Status == StatusAWAU) && cons.expired(s.bank.Now()) {
		if err := s.expire(r.Context(), cons); err != nil {
			return nil, err
		}
		cons.Updated = s.bank.Now().UnixMicro()
	}
	return cons, nil
}

func (s *Server) handleGetConsent(w http.ResponseWriter, r *http.Request, c *caller) error {
	cons, err := s.ownConsent(r, c)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.consentBody(r, cons))
	return nil
}

// handleDeleteConsent deletes a consent: it ends its tokens, and the
// consent is gone for the client (a later GET is 400 U011). The bank
// keeps the row, CANC, for its own records.
func (s *Server) handleDeleteConsent(w http.ResponseWriter, r *http.Request, c *caller) error {
	cons, err := s.ownConsent(r, c)
	if err != nil {
		return err
	}
	ctx := r.Context()
	if _, err := s.endConsent(ctx, cons.ID, StatusCANC, "TKCL", StatusAWAU, StatusAUTH); err != nil {
		return err
	}
	// endConsent forgot its grants; a copy read since says CANC, which
	// refuses as deleted does.
	_, err = s.bank.DB.ExecContext(ctx, `UPDATE ob_consents SET deleted_at = $1 WHERE id = $2`,
		s.bank.Now().UnixMicro(), cons.ID)
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// ---- accounts ----

type obAccountIdent struct {
	SchemeName     string `json:"SchemeName"`
	Identification string `json:"Identification"`
	Name           string `json:"Name,omitempty"`
}

type obAccount struct {
	AccountID            string           `json:"AccountId"`
	Status               string           `json:"Status,omitempty"`
	StatusUpdateDateTime string           `json:"StatusUpdateDateTime,omitempty"`
	Currency             string           `json:"Currency,omitempty"`
	AccountCategory      string           `json:"AccountCategory,omitempty"`
	AccountTypeCode      string           `json:"AccountTypeCode,omitempty"`
	Description          string           `json:"Description,omitempty"`
	Nickname             string           `json:"Nickname,omitempty"`
	OpeningDate          string           `json:"OpeningDate,omitempty"`
	Account              []obAccountIdent `json:"Account,omitempty"`
}

type accountsResponse struct {
	Data struct {
		Account []obAccount `json:"Account"`
	} `json:"Data"`
	Links links `json:"Links"`
	Meta  meta  `json:"Meta"`
}

// maskPAN masks a card number to its first 4 and last 4 digits with a
// star for each hidden digit: "6222********7894" (docs/bank-link.md).
func maskPAN(pan string) string {
	if len(pan) < 13 {
		return strings.Repeat("*", len(pan))
	}
	return pan[:4] + strings.Repeat("*", len(pan)-8) + pan[len(pan)-4:]
}

var accountStatus = map[katong.AccountStatus]string{
	katong.StatusActive: "Enabled",
	katong.StatusFrozen: "Disabled",
	katong.StatusClosed: "Deleted",
}

func (s *Server) account(ctx context.Context, c *caller, ca consentAccount) (*obAccount, error) {
	a, err := s.bank.DB.Ledger().Account(ctx, ca.AccountID)
	if err != nil {
		return nil, err
	}
	card, err := s.bank.Card(ctx, ca.CardID)
	if err != nil {
		return nil, err
	}
	out := &obAccount{AccountID: ca.ObID, Status: accountStatus[a.Status], StatusUpdateDateTime: obTime(a.UpdatedAt.UnixMicro()),
		Currency: "CNY", AccountCategory: "Personal", AccountTypeCode: "CACC", Description: card.Product,
		OpeningDate: obTime(a.OpenedAt.UnixMicro())}
	if a.Name != "" {
		out.Nickname = truncateRunes(a.Name, 70)
	}
	if c.consent.has(PermAccountsDetail) {
		pan, err := s.bank.CardNumber(ctx, ca.CardID)
		if err != nil {
			return nil, err
		}
		ident := obAccountIdent{SchemeName: "UK.OBIE.PAN", Identification: maskPAN(pan)}
		if cust, err := s.bank.Customer(ctx, a.CustomerID); err == nil {
			ident.Name = katong.MaskName(cust.Name)
		}
		out.Account = []obAccountIdent{ident}
	}
	return out, nil
}

func truncateRunes(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n])
	}
	return s
}

func (s *Server) handleAccounts(w http.ResponseWriter, r *http.Request, c *caller) error {
	ctx := r.Context()
	if !c.consent.has(PermAccountsBasic) && !c.consent.has(PermAccountsDetail) {
		return obErr(cOutsideConsent, "", "ReadAccountsBasic or ReadAccountsDetail was not granted")
	}
	list, err := s.consentAccounts(ctx, c.consent)
	if err != nil {
		return err
	}
	var resp accountsResponse
	resp.Data.Account = []obAccount{}
	for _, ca := range list {
		a, err := s.account(ctx, c, ca)
		if err != nil {
			return err
		}
		resp.Data.Account = append(resp.Data.Account, *a)
	}
	resp.Links.Self = s.absolute(r, s.aisp()+"/accounts")
	resp.Meta.TotalPages = 1
	writeJSON(w, http.StatusOK, resp)
	return nil
}

func (s *Server) handleAccount(w http.ResponseWriter, r *http.Request, c *caller) error {
	ctx := r.Context()
	if !c.consent.has(PermAccountsBasic) && !c.consent.has(PermAccountsDetail) {
		return obErr(cOutsideConsent, "", "ReadAccountsBasic or ReadAccountsDetail was not granted")
	}
	ca, err := s.accountIn(ctx, c.consent, r.PathValue("AccountId"))
	if err != nil {
		return err
	}
	a, err := s.account(ctx, c, *ca)
	if err != nil {
		return err
	}
	var resp accountsResponse
	resp.Data.Account = []obAccount{*a}
	resp.Links.Self = s.absolute(r, s.aisp()+"/accounts/"+url.PathEscape(ca.ObID))
	resp.Meta.TotalPages = 1
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// ---- balances ----

type obAmount struct {
	Amount   string `json:"Amount"`
	Currency string `json:"Currency"`
}

func amountOf(a katong.Amount) (obAmount, string) {
	ind := "Credit"
	if a < 0 {
		ind, a = "Debit", -a
	}
	return obAmount{Amount: a.String(), Currency: "CNY"}, ind
}

type obBalance struct {
	AccountID            string   `json:"AccountId"`
	CreditDebitIndicator string   `json:"CreditDebitIndicator"`
	Type                 string   `json:"Type"`
	DateTime             string   `json:"DateTime"`
	Amount               obAmount `json:"Amount"`
}

type balancesResponse struct {
	Data struct {
		Balance []obBalance `json:"Balance"`
	} `json:"Data"`
	Links links `json:"Links"`
	Meta  meta  `json:"Meta"`
}

// handleBalances answers the balance through bank.Balance, the query every
// channel goes through: the wallet channel's per-card limit (429), the
// account's status (403 ACCOUNT_ABNORMAL) and the audit record.
func (s *Server) handleBalances(w http.ResponseWriter, r *http.Request, c *caller) error {
	ctx := r.Context()
	if !c.consent.has(PermBalances) {
		return obErr(cOutsideConsent, "", "ReadBalances was not granted")
	}
	ca, err := s.accountIn(ctx, c.consent, r.PathValue("AccountId"))
	if err != nil {
		return err
	}
	card, err := s.bank.Card(ctx, ca.CardID)
	if err != nil {
		return err
	}
	bal, err := s.bank.Balance(ctx, bank.Query{Channel: katong.ChannelWallet, Actor: "ob:" + c.client.ID,
		Detail: "consent " + c.consent.ID, Card: card})
	if err != nil {
		return err
	}
	at := obTime(bal.AsOf.UnixMicro())
	var resp balancesResponse
	for _, b := range []struct {
		typ string
		amt katong.Amount
	}{{"ITAV", bal.Available}, {"ITBD", bal.Booked}} {
		amt, ind := amountOf(b.amt)
		resp.Data.Balance = append(resp.Data.Balance, obBalance{AccountID: ca.ObID, CreditDebitIndicator: ind,
			Type: b.typ, DateTime: at, Amount: amt})
	}
	resp.Links.Self = s.absolute(r, s.aisp()+"/accounts/"+url.PathEscape(ca.ObID)+"/balances")
	resp.Meta.TotalPages = 1
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// ---- transactions ----

type obCode struct {
	Code   string `json:"Code"`
	Issuer string `json:"Issuer,omitempty"`
}

type obTxnBalance struct {
	CreditDebitIndicator string   `json:"CreditDebitIndicator"`
	Type                 string   `json:"Type"`
	Amount               obAmount `json:"Amount"`
}

type obTransaction struct {
	AccountID                      string        `json:"AccountId"`
	TransactionID                  string        `json:"TransactionId"`
	CreditDebitIndicator           string        `json:"CreditDebitIndicator"`
	Status                         string        `json:"Status"`
	TransactionMutability          string        `json:"TransactionMutability"`
	BookingDateTime                string        `json:"BookingDateTime"`
	ValueDateTime                  string        `json:"ValueDateTime,omitempty"`
	TransactionInformation         string        `json:"TransactionInformation,omitempty"`
	Amount                         obAmount      `json:"Amount"`
	ProprietaryBankTransactionCode *obCode       `json:"ProprietaryBankTransactionCode,omitempty"`
	Balance                        *obTxnBalance `json:"Balance,omitempty"`
}

type transactionsResponse struct {
	Data struct {
		Transaction []obTransaction `json:"Transaction"`
	} `json:"Data"`
	Links links `json:"Links"`
	Meta  meta  `json:"Meta"`
}

// txnRow is a booked entry or a pending hold of an account.
type txnRow struct {
	Pending      bool
	ID           int64
	Amount       katong.Amount
	BalanceAfter katong.Amount
	Kind         katong.TxnKind
	Memo         string
	At           int64
}

// txnQuery selects an account's entries and active holds (pending debits)
// booked in [From, To], credits and/or debits, newest first.
type txnQuery struct {
	Account         katong.AccountID
	From, To        int64
	Credits, Debits bool
	Limit, Offset   int
}

func (q txnQuery) where() (string, string) {
	e := `e.account_id = $1 AND e.created_at >= $2 AND e.created_at <= $3`
	switch {
	case q.Credits && !q.Debits:
		e += ` AND e.amount > 0`
	case q.Debits && !q.Credits:
		e += ` AND e.amount < 0`
	}
	h := `h.account_id = $1 AND h.status = 'active' AND h.created_at >= $2 AND h.created_at <= $3`
	if !q.Debits {
		h += ` AND 1 = 0`
	}
	return e, h
}

func (s *Server) transactions(ctx context.Context, q txnQuery) ([]txnRow, int, error) {
	ew, hw := q.where()
	args := []any{q.Account, q.From, q.To}
	var ne, nh int
	if err := s.bank.DB.QueryRowContext(ctx, `SELECT count(*) FROM entries e WHERE `+ew, args...).Scan(&ne); err != nil {
		return nil, 0, err
	}
	if err := s.bank.DB.QueryRowContext(ctx, `SELECT count(*) FROM holds h WHERE `+hw, args...).Scan(&nh); err != nil {
		return nil, 0, err
	}
	out, err := sqlstore.All(ctx, s.bank.DB, func(row sqlstore.Scanner) (txnRow, error) {
		var t txnRow
		var src string
		err := row.Scan(&src, &t.ID, &t.Amount, &t.BalanceAfter, &t.Kind, &t.Memo, &t.At)
		t.Pending = src == "P"
		return t, err
	}, `SELECT src, id, amount, balance_after, kind, memo, at FROM (
		SELECT 'B' AS src, e.id AS id, e.amount AS amount, e.balance_after AS balance_after, t.kind AS kind, t.memo AS memo, e.created_at AS at
		FROM entries e JOIN txns t ON t.id = e.txn_id WHERE `+ew+`
		UNION ALL
		SELECT 'P' AS src, h.id AS id, -h.amount AS amount, 0 AS balance_after, 'hold' AS kind, h.memo AS memo, h.created_at AS at
		FROM holds h WHERE `+hw+`
	) x ORDER BY at DESC, src DESC, id DESC LIMIT `+itoa(q.Limit)+` OFFSET `+itoa(q.Offset), args...)
	if err != nil {
		return nil, 0, err
	}
	return out, ne + nh, nil
}

// bookingBound parses a booking-date filter of the query (lenient, the zone
// ignored); "" is no bound.
func bookingBound(q url.Values, name string) (*time.Time, error) {
	v := q.Get(name)
	if v == "" {
		return nil, nil
	}
	t, err := parseLenient(v)
	if err != nil {
		return nil, obErr(cBadDate, name, "not an ISO 8601 date-time")
	}
	return &t, nil
}

func (s *Server) handleTransactions(w http.ResponseWriter, r *http.Request, c *caller) error {
	ctx := r.Context()
	cons := c.consent
	detail := cons.has(PermTransactionsDetail)
	if !detail && !cons.has(PermTransactionsBasic) || !cons.has(PermCredits) && !cons.has(PermDebits) {
		return obErr(cOutsideConsent, "", "transaction permissions were not granted")
	}
	ca, err := s.accountIn(ctx, cons, r.PathValue("AccountId"))
	if err != nil {
		return err
	}
	query := r.URL.Query()
	from, err := bookingBound(query, "fromBookingDateTime")
	if err != nil {
		return err
	}
	to, err := bookingBound(query, "toBookingDateTime")
	if err != nil {
		return err
	}
	page := 1
	if p := query.Get("page"); p != "" {
		if page, err = strconv.Atoi(p); err != nil || page < 1 || page > 1_000_000 {
			return obErr(katong.EInvalid, "page", "page must be a positive integer")
		}
	}
	card, err := s.bank.Card(ctx, ca.CardID)
	if err != nil {
		return err
	}
	if _, err := s.bank.Check(ctx, bank.Query{Channel: katong.ChannelWallet, Actor: "ob:" + c.client.ID,
		Detail: "consent " + cons.ID, Card: card}, "transactions"); err != nil {
		return err
	}

	// The window: the filter within the consent's transaction window.
	q := txnQuery{Account: ca.AccountID, From: 0, To: math.MaxInt64, Credits: cons.has(PermCredits), Debits: cons.has(PermDebits)}
	if from != nil {
		q.From = from.UnixMicro()
	}
	if to != nil {
		q.To = to.UnixMicro()
	}
	if cons.TxFrom != "" && cons.TxFromAt > q.From {
		q.From = cons.TxFromAt
	}
	if cons.TxTo != "" && cons.TxToAt < q.To {
		q.To = cons.TxToAt
	}
	size := s.pageSize()
	q.Limit, q.Offset = size, (page-1)*size
	var rows []txnRow
	total := 0
	if q.From <= q.To {
		if rows, total, err = s.transactions(ctx, q); err != nil {
			return err
		}
	}
	pages := (total + size - 1) / size
	if pages < 1 {
		pages = 1
	}

	var resp transactionsResponse
	resp.Data.Transaction = []obTransaction{}
	for _, t := range rows {
		amt, ind := amountOf(t.Amount)
		tx := obTransaction{AccountID: ca.ObID, CreditDebitIndicator: ind, Amount: amt,
			BookingDateTime: obTime(t.At), ValueDateTime: obTime(t.At),
			ProprietaryBankTransactionCode: &obCode{Code: strings.ToUpper(string(t.Kind)), Issuer: string(s.bank.Config.ID)}}
		if t.Pending {
			tx.TransactionID, tx.Status, tx.TransactionMutability = "H"+itoa(t.ID), "PDNG", "Mutable"
		} else {
			tx.TransactionID, tx.Status, tx.TransactionMutability = "E"+itoa(t.ID), "BOOK", "Immutable"
		}
		if detail {
			info := t.Kind.Text(katong.ZH)
			if m := strings.TrimSpace(katong.Redact(t.Memo)); m != "" {
				info += "：" + m
			}
			tx.TransactionInformation = truncateRunes(info, 500)
			if !t.Pending {
				bamt, bind := amountOf(t.BalanceAfter)
				tx.Balance = &obTxnBalance{CreditDebitIndicator: bind, Type: "ITBD", Amount: bamt}
			}
		}
		resp.Data.Transaction = append(resp.Data.Transaction, tx)
	}
	base := s.aisp() + "/accounts/" + url.PathEscape(ca.ObID) + "/transactions"
	link := func(p int) string {
		v := url.Values{}
		for _, k := range []string{"fromBookingDateTime", "toBookingDateTime"} {
			if x := query.Get(k); x != "" {
				v.Set(k, x)
			}
		}
		if p > 1 {
			v.Set("page", strconv.Itoa(p))
		}
		if len(v) == 0 {
			return s.absolute(r, base)
		}
		return s.absolute(r, base+"?"+v.Encode())
	}
	resp.Links = links{Self: link(page), First: link(1), Last: link(pages)}
	if page > 1 {
		resp.Links.Prev = link(min(page-1, pages))
	}
	if page < pages {
		resp.Links.Next = link(page + 1)
	}
	resp.Meta.TotalPages = pages
	writeJSON(w, http.StatusOK, resp)
	return nil
}
