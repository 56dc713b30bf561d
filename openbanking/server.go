// Package openbanking is a bank's Open Banking side: the UK Open Banking
// Account and Transaction API v4.0 (account information) under
// /banks/{bank}/open-banking/v4.0/aisp/, OAuth 2.0 for third-party clients
// (client credentials; authorisation code with PKCE S256; refresh), the
// consent pages a customer approves or rejects and later revokes, and
// Katong's wallet-payment extension under .../pisp/wallet-payments that
// lets a 卡通 wallet debit a bound card under its binding agreement.
//
// docs/bank-link.md is the contract with the wallet; the OBIE OpenAPI
// document and NOTES.md in shared/specs/obie-v4.0.0 are the spec.
package openbanking

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"katong/bank"
	"katong/shortcache"
)

// Client is a third party registered with the bank (the wallet platform).
type Client struct {
	ID           string
	Name         string
	Secret       string // clear, from configuration; the Server keeps only a keyed hash
	RedirectURIs []string
	Payments     bool // may use the wallet-payment extension
}

// client is a registered client as the Server keeps it.
type client struct {
	ID           string
	Name         string
	secretMAC    []byte
	RedirectURIs []string
	Payments     bool
}

// Token lifetimes (docs/bank-link.md).
const (
	AccessTTL  = 10 * time.Minute
	RefreshTTL = 90 * 24 * time.Hour
	CodeTTL    = 60 * time.Second
	// claimTTL is how long a payment or refund claimed by one request
	// counts as in flight; after it another request with the same key may
	// take it over (the first one died).
	claimTTL = 30 * time.Second
)

// Cookie names shared with the bank app.
const (
	SessionCookie = "katong_bank" // the bank app's customer session
	deviceCookie  = "katong_device"
	loginCookie   = "katong_ob_login" // pre-login CSRF secret
)

// Server serves one bank's Open Banking side.
type Server struct {
	bank    *bank.Bank
	clients map[string]*client
	log     *slog.Logger
	prefix  string // "/banks/galaxy"
	pages   *template.Template
	api     *http.ServeMux

	// PageSize is the number of transactions per page, clamped to
	// 25–1000 (NOTES.md §4.8); 100 by default.
	PageSize int
	// BaseURL, if set ("https://bank.example"), makes the absolute links
	// of the API; otherwise they are made from the request's host.
	BaseURL string

	// The access tokens and consents the data endpoints read on every
	// request, kept for GrantCache (shortcache). A change to a consent or
	// its tokens through this process forgets that consent and its tokens
	// (forgetGrants).
	tokens   *shortcache.Cache[string, token]
	consents *shortcache.Cache[string, consent]
	// The accounts found in consents by AccountId (accountIn): they never
	// change, so the minute only bounds the memory.
	accounts *shortcache.Cache[string, consentAccount]
}

// GrantCache is how long the account-information data endpoints of one
// instance may honour an access token or a consent as they last read it:
// a consent revoked or a token ended through another instance stops
// working here within this time; through this one, at once. Payments,
// refunds, refresh tokens, the consent endpoints and pages always read
// afresh.
const GrantCache = time.Second

// New returns the Open Banking server of the bank for the registered
// clients. Client secrets are kept only as keyed hashes.
func New(b *bank.Bank, clients []Client, log *slog.Logger) *Server {
	if log == nil {
		log = slog.Default()
	}
	s := &Server{bank: b, clients: map[string]*client{}, log: log,
		prefix: "/banks/" + string(b.Config.ID), PageSize: 100,
		tokens: shortcache.New[string, token](GrantCache), consents: shortcache.New[string, consent](GrantCache),
		accounts: shortcache.New[string, consentAccount](time.Minute)}
	for _, c := range clients {
		s.clients[c.ID] = &client{ID: c.ID, Name: c.Name, secretMAC: s.secretMAC(c.Secret),
			RedirectURIs: append([]string(nil), c.RedirectURIs...), Payments: c.Payments}
	}
	s.pages = parsePages()
	s.api = http.NewServeMux()
	s.registerAPI(s.api)
	return s
}

// Register adds the routes under /banks/{bank}/: oauth/ (token, authorize,
// consents) and open-banking/v4.0/ (aisp, pisp).
func (s *Server) Register(mux *http.ServeMux) {
	p := s.prefix
	mux.HandleFunc("POST "+p+"/oauth/token", s.handleToken)
	mux.HandleFunc("GET "+p+"/oauth/authorize", s.handleAuthorize)
	mux.HandleFunc("POST "+p+"/oauth/authorize", s.handleAuthorizePost)
	mux.HandleFunc("GET "+p+"/oauth/consents", s.handleConsentList)
	mux.HandleFunc("POST "+p+"/oauth/consents", s.handleConsentListPost)
	mux.Handle(p+"/open-banking/v4.0/", http.HandlerFunc(s.serveAPI))
}

func (s *Server) aisp() string { return s.prefix + "/open-banking/v4.0/aisp" }
func (s *Server) pisp() string { return s.prefix + "/open-banking/v4.0/pisp" }

// secretMAC is the keyed hash a client secret is kept and compared as.
func (s *Server) secretMAC(secret string) []byte {
	return s.bank.Vault.Lookup("ob-client-secret", secret)
}

// authenticate checks a client's id and secret.
func (s *Server) authenticate(id, secret string) *client {
	c, ok := s.clients[id]
	mac := s.secretMAC(secret)
	if !ok || secret == "" || subtle.ConstantTimeCompare(mac, c.secretMAC) != 1 {
		return nil
	}
	return c
}

// absolute makes an absolute URL of a path (and query) on this server.
func (s *Server) absolute(r *http.Request, pathAndQuery string) string {
	if s.BaseURL != "" {
		return strings.TrimRight(s.BaseURL, "/") + pathAndQuery
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + pathAndQuery
}

func (s *Server) pageSize() int {
	n := s.PageSize
	if n < 25 {
		n = 25
	}
	if n > 1000 {
		n = 1000
	}
	return n
}

// newID returns a random identifier: the prefix and 26 characters of
// lower-case base32 (130 bits; digits 2–7 only, so it never looks like a
// card number).
func newID(prefix string) string {
	b := make([]byte, 17)
	rand.Read(b)
	const alphabet = "abcdefghijklmnopqrstuvwxyz234567"
	var sb strings.Builder
	sb.WriteString(prefix)
	for i := 0; i < 26; i++ {
		// 5 bits at a time.
		bit := i * 5
		v := (uint(b[bit/8])<<8 | uint(b[bit/8+1])) >> (11 - bit%8) & 31
		sb.WriteByte(alphabet[v])
	}
	return sb.String()
}

// csrfFor is the CSRF token of a form shown to the holder of secret (a
// session token, or the pre-login cookie).
func (s *Server) csrfFor(purpose, secret string) string {
	return base64.RawURLEncoding.EncodeToString(s.bank.Vault.Lookup("ob-csrf", purpose+"\x00"+secret))
}

func (s *Server) checkCSRF(purpose, secret, got string) bool {
	if secret == "" || got == "" {
		return false
	}
	return hmac.Equal([]byte(s.csrfFor(purpose, secret)), []byte(got))
}
