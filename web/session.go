package web

import (
	"net/http"
	"strings"
	"time"

	"katong"
)

// SetCookie sets a session cookie: HttpOnly, SameSite=Lax, Path=/, and
// Secure with the __Host- prefix when the request came over TLS (S7). Over
// plain HTTP (the local demo) the prefix cannot be used, so the name is
// kept bare.
func SetCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge time.Duration) {
	c := &http.Cookie{Name: CookieName(r, name), Value: value, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil, MaxAge: int(maxAge / time.Second)}
	if value == "" {
		c.MaxAge = -1
	}
	http.SetCookie(w, c)
}

// CookieName is the cookie's name on this connection.
func CookieName(r *http.Request, name string) string {
	if r.TLS != nil {
		return "__Host-" + name
	}
	return name
}

// Cookie returns the value of the named cookie, or "".
func Cookie(r *http.Request, name string) string {
	if c, err := r.Cookie(CookieName(r, name)); err == nil {
		return c.Value
	}
	return ""
}

// BearerToken returns the token of an "Authorization: Bearer" header, or "".
func BearerToken(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// Lang picks the language of a request: ?lang=, then the "lang" cookie,
// then Accept-Language, zh by default.
func Lang(r *http.Request) katong.Lang {
	if l := r.URL.Query().Get("lang"); l != "" {
		return katong.ParseLang(l)
	}
	if c, err := r.Cookie("lang"); err == nil {
		return katong.ParseLang(c.Value)
	}
	return katong.ParseLang(r.Header.Get("Accept-Language"))
}

// PageLang is Lang for a page: when ?lang= chose the language, it is
// remembered in the "lang" cookie for the pages that follow.
func PageLang(w http.ResponseWriter, r *http.Request) katong.Lang {
	l := Lang(r)
	if r.URL.Query().Get("lang") != "" {
		http.SetCookie(w, &http.Cookie{Name: "lang", Value: string(l), Path: "/", MaxAge: 365 * 24 * 3600,
			SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil})
	}
	return l
}

// ParseForm parses a form body of at most MaxBody bytes.
func ParseForm(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, MaxBody)
	if err := r.ParseForm(); err != nil {
		if strings.Contains(err.Error(), "too large") {
			return katong.Errorf(katong.ETooLarge, "form larger than %d bytes", MaxBody)
		}
		return katong.Invalid("body", "malformed form")
	}
	return nil
}

// NoStore marks a response as not to be cached (balances, S14).
func NoStore(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
}
