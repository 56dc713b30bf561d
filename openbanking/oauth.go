package openbanking

import (
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"katong"
	"katong/auth"
	"katong/web"
)

// oauthFail is an RFC 6749 §5.2 error of the token endpoint.
type oauthFail struct {
	Err         string `json:"error"`
	Description string `json:"error_description,omitempty"`
	code        katong.Code
	status      int
}

func (e *oauthFail) Error() string { return e.Err + ": " + e.Description }

func grantErr(kind, desc string) *oauthFail {
	f := &oauthFail{Err: kind, Description: desc, code: katong.EInvalid, status: http.StatusBadRequest}
	switch kind {
	case "invalid_client":
		f.code, f.status = katong.EUnauthorized, http.StatusUnauthorized
	case "invalid_grant":
		f.code = katong.EUnauthorized
	case "server_error":
		f.code, f.status = katong.EInternal, http.StatusInternalServerError
	}
	return f
}

type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Scope        string `json:"scope"`
	ConsentID    string `json:"consent_id,omitempty"`
}

// handleToken is the OAuth 2.0 token endpoint: client_credentials,
// authorization_code (PKCE S256 required) and refresh_token. Clients
// authenticate with HTTP Basic (or client_id and client_secret in the
// form).
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	resp, err := s.token(w, r)
	if err != nil {
		var f *oauthFail
		if !errors.As(err, &f) {
			s.log.Error("token endpoint", "err", katong.Redact(err.Error()))
			f = grantErr("server_error", "")
		}
		if f.status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Basic realm="`+s.prefix+`"`)
		}
		w.Header().Set("X-Katong-Code", string(f.code))
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(f.status)
		json.NewEncoder(w).Encode(f)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	json.NewEncoder(w).Encode(resp)
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) (*tokenResponse, error) {
	if err := web.ParseForm(w, r); err != nil {
		return nil, grantErr("invalid_request", "malformed form body")
	}
	var c *client
	if id, secret, basic := r.BasicAuth(); basic {
		// RFC 6749 §2.3.1: both are form-encoded inside Basic; some
		// clients send them raw.
		uid, err1 := url.QueryUnescape(id)
		usecret, err2 := url.QueryUnescape(secret)
		if err1 == nil && err2 == nil {
			c = s.authenticate(uid, usecret)
		}
		if c == nil {
			c = s.authenticate(id, secret)
		}
	} else {
		c = s.authenticate(r.PostForm.Get("client_id"), r.PostForm.Get("client_secret"))
	}
	if c == nil {
		return nil, grantErr("invalid_client", "unknown client or wrong secret")
	}
	ctx := r.Context()
	f := r.PostForm
	switch f.Get("grant_type") {
	case "client_credentials":
		if sc := f.Get("scope"); sc != "" && sc != "accounts" {
			return nil, grantErr("invalid_scope", "only the scope accounts is offered")
		}
		tok, err := s.issue(ctx, s.bank.DB, "app", c.ID, "", AccessTTL)
		if err != nil {
			return nil, err
		}
		return &tokenResponse{AccessToken: tok, TokenType: "Bearer", ExpiresIn: int(AccessTTL.Seconds()), Scope: "accounts"}, nil
	case "authorization_code":
		return s.exchangeCode(r, c)
	case "refresh_token":
		t, err := s.lookupToken(ctx, f.Get("refresh_token"), "refresh", fresh)
		if err != nil {
			if katong.ErrorCode(err) == katong.EUnauthorized {
				return nil, grantErr("invalid_grant", "unknown, expired or revoked refresh token")
			}
			return nil, err
		}
		if t.ClientID != c.ID {
			return nil, grantErr("invalid_grant", "the refresh token was issued to another client")
		}
		if _, err := s.liveConsent(ctx, t.ConsentID, fresh); err != nil {
			if katong.ErrorCode(err) == katong.EUnauthorized {
				return nil, grantErr("invalid_grant", "the consent is no longer authorised")
			}
			return nil, err
		}
		tok, err := s.issue(ctx, s.bank.DB, "access", c.ID, t.ConsentID, AccessTTL)
		if err != nil {
			return nil, err
		}
		return &tokenResponse{AccessToken: tok, TokenType: "Bearer", ExpiresIn: int(AccessTTL.Seconds()),
			Scope: "accounts", ConsentID: t.ConsentID}, nil
	case "":
		return nil, grantErr("invalid_request", "grant_type is required")
	default:
		return nil, grantErr("unsupported_grant_type", "grant types: client_credentials, authorization_code, refresh_token")
	}
}

// pkceS256 is the S256 code challenge of a verifier (RFC 7636 §4.2).
func pkceS256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// goodVerifier checks a PKCE code verifier: 43–128 unreserved characters.
func goodVerifier(v string) bool {
	if len(v) < 43 || len(v) > 128 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("-._~", c) >= 0) {
			return false
		}
	}
	return true
}

// exchangeCode turns an authorisation code into tokens bound to its
// consent. The code is checked (client, redirect_uri, expiry, PKCE) and
// then used up atomically: a second exchange fails, and ends every token
// of the consent (RFC 6749 §4.1.2: a code replayed may have been stolen).
func (s *Server) exchangeCode(r *http.Request, c *client) (*tokenResponse, error) {
	ctx := r.Context()
	f := r.PostForm
	code := f.Get("code")
	if code == "" || len(code) > 512 {
		return nil, grantErr("invalid_request", "code is required")
	}
	var consentID, clientID, redirect, challenge string
	var expires, used int64
	hash := auth.HashToken(code)
	err := s.bank.DB.Row(ctx, `SELECT consent_id, client_id, redirect_uri, challenge, expires_at, used_at
		FROM ob_codes WHERE code_hash = $1`, hash).Scan(&consentID, &clientID, &redirect, &challenge, &expires, &used)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, grantErr("invalid_grant", "unknown code")
	} else if err != nil {
		return nil, err
	}
	now := s.bank.Now().UnixMicro()
	switch {
	case clientID != c.ID:
		return nil, grantErr("invalid_grant", "the code was issued to another client")
	case used != 0:
		_, err := s.bank.DB.ExecContext(ctx, `UPDATE ob_tokens SET revoked_at = $1 WHERE consent_id = $2 AND revoked_at = 0`,
			now, consentID)
		s.forgetGrants(consentID)
		if err != nil {
			return nil, err
		}
		return nil, grantErr("invalid_grant", "the code was already used")
	case now >= expires:
		return nil, grantErr("invalid_grant", "the code expired")
	case f.Get("redirect_uri") != redirect:
		return nil, grantErr("invalid_grant", "redirect_uri does not match the authorisation request")
	case !goodVerifier(f.Get("code_verifier")):
		return nil, grantErr("invalid_grant", "code_verifier is required (43-128 characters)")
	case pkceS256(f.Get("code_verifier")) != challenge:
		return nil, grantErr("invalid_grant", "code_verifier does not match the code_challenge")
	}
	if _, err := s.liveConsent(ctx, consentID, fresh); err != nil {
		if katong.ErrorCode(err) == katong.EUnauthorized {
			return nil, grantErr("invalid_grant", "the consent is no longer authorised")
		}
		return nil, err
	}
	resp := &tokenResponse{TokenType: "Bearer", ExpiresIn: int(AccessTTL.Seconds()), Scope: "accounts", ConsentID: consentID}
	err = s.bank.DB.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE ob_codes SET used_at = $1 WHERE code_hash = $2 AND used_at = 0`, now, hash)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n != 1 {
			return grantErr("invalid_grant", "the code was already used")
		}
		if resp.AccessToken, err = s.issue(ctx, tx, "access", c.ID, consentID, AccessTTL); err != nil {
			return err
		}
		resp.RefreshToken, err = s.issue(ctx, tx, "refresh", c.ID, consentID, RefreshTTL)
		return err
	})
	if err != nil {
		return nil, err
	}
	return resp, nil
}
