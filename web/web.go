// Package web holds what every HTTP channel of Katong shares: the one
// translation of domain error codes to HTTP answers (RFC 9457 problem
// details and HTML pages), strict JSON decoding, the middleware (security
// headers, panic recovery with a correlation id, body limits, logging)
// and session cookies.
package web

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"katong"
)

// MaxBody is the largest JSON or form body accepted (S11).
const MaxBody = 16 << 10

// Status maps each code to its HTTP status: the one place this is decided.
var Status = map[katong.Code]int{
	katong.EAbnormal:       http.StatusForbidden,
	katong.ENetwork:        http.StatusBadGateway,
	katong.ENotFound:       http.StatusNotFound,
	katong.ERateLimited:    http.StatusTooManyRequests,
	katong.ECrossBank:      http.StatusForbidden,
	katong.EClientOutdated: http.StatusUpgradeRequired,
	katong.EInvalid:        http.StatusBadRequest,
	katong.EUnauthorized:   http.StatusUnauthorized,
	katong.EForbidden:      http.StatusForbidden,
	katong.EInternal:       http.StatusInternalServerError,
	katong.EInsufficient:   http.StatusUnprocessableEntity,
	katong.EConflict:       http.StatusConflict,
	katong.EKeyReused:      http.StatusUnprocessableEntity,
	katong.ELocked:         http.StatusTooManyRequests,
	katong.ETooLarge:       http.StatusRequestEntityTooLarge,
	katong.EClosed:         http.StatusForbidden,
}

// HTTPStatus is the HTTP status of code (Status; 500 for a code it lacks).
func HTTPStatus(code katong.Code) int {
	if st, ok := Status[code]; ok {
		return st
	}
	return http.StatusInternalServerError
}

// Problem is an RFC 9457 problem details body carrying the product's code.
type Problem struct {
	Type       string `json:"type"`
	Title      string `json:"title"`
	Status     int    `json:"status"`
	Detail     string `json:"detail,omitempty"`
	Code       string `json:"code"`
	MessageZH  string `json:"message_zh"`
	MessageEN  string `json:"message_en"`
	Field      string `json:"field,omitempty"`
	RetryAfter int    `json:"retry_after,omitempty"` // seconds
	Support    string `json:"support,omitempty"`     // the bank's support number, for ACCOUNT_ABNORMAL
	RequestID  string `json:"request_id,omitempty"`
}

// NewProblem builds the problem for err. Internal errors say nothing but
// the correlation id; the cause goes to the log only.
func NewProblem(r *http.Request, err error, support string) *Problem {
	e := katong.AsError(err)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		e = &katong.Error{Code: katong.EInternal, Err: err}
	}
	st := HTTPStatus(e.Code)
	p := &Problem{Type: "https://katong.example/problems/" + strings.ToLower(string(e.Code)),
		Title: katong.Text(e.Code, katong.EN), Status: st, Code: string(e.Code),
		MessageZH: katong.Text(e.Code, katong.ZH), MessageEN: katong.Text(e.Code, katong.EN),
		RequestID: RequestID(r.Context())}
	switch e.Code {
	case katong.EInvalid:
		p.Field, p.Detail = e.Field, e.Message
	case katong.ERateLimited, katong.ELocked, katong.ENetwork:
		if e.RetryAfter > 0 {
			p.RetryAfter = katong.Seconds(e.RetryAfter)
		}
	case katong.EAbnormal:
		p.Support = support
	}
	return p
}

// Error answers err as problem+json, logging internal errors with the
// request id (S12: no SQL or stack ever reaches the client).
func Error(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error, support string) {
	p := NewProblem(r, err, support)
	if p.Code == string(katong.EInternal) && log != nil {
		log.Error("internal error", "request_id", p.RequestID, "path", r.URL.Path, "err", err)
	}
	if p.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(p.RetryAfter))
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	json.NewEncoder(w).Encode(p)
}

// JSON writes v with the status. Responses are no-store: they may hold balances.
func JSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// Decode reads a JSON body into v strictly: at most MaxBody bytes (ETooLarge),
// no unknown fields, no duplicate keys, no trailing data; errors name the field.
func Decode(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return katong.Errorf(katong.ETooLarge, "body larger than %d bytes", MaxBody)
		}
		return katong.Invalid("body", "cannot read body")
	}
	return DecodeBytes(body, v)
}

// DecodeBytes is Decode on a body already read.
func DecodeBytes(body []byte, v any) error {
	if err := checkDuplicates(body); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &te):
			return katong.Invalid(te.Field, "wrong type: want %s", te.Type)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return katong.Invalid(f, "unknown field")
		case errors.Is(err, io.EOF):
			return katong.Invalid("body", "empty body")
		default:
			return katong.Invalid("body", "malformed JSON")
		}
	}
	if dec.More() {
		return katong.Invalid("body", "trailing data after the JSON value")
	}
	if _, err := dec.Token(); err != io.EOF {
		return katong.Invalid("body", "trailing data after the JSON value")
	}
	return nil
}

// checkDuplicates walks the JSON tokens and refuses an object with a key
// twice (encoding/json would silently keep the last).
func checkDuplicates(body []byte) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	type frame struct {
		obj  bool
		keys map[string]bool
		key  bool // next string token is a key
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return nil // syntax errors are reported by the real decode
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{':
				if top != nil && top.obj {
					top.key = true
				}
				stack = append(stack, &frame{obj: true, keys: map[string]bool{}, key: true})
			case '[':
				if top != nil && top.obj {
					top.key = true
				}
				stack = append(stack, &frame{})
			default:
				stack = stack[:len(stack)-1]
			}
			continue
		}
		if top != nil && top.obj {
			if top.key {
				k := tok.(string)
				if top.keys[k] {
					return katong.Invalid(k, "duplicate key")
				}
				top.keys[k] = true
				top.key = false
			} else {
				top.key = true
			}
		}
	}
}

type ctxKey int

const requestIDKey ctxKey = 0

// RequestID returns the request's correlation id.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

var b32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// newID returns a 120-bit correlation id in lower-case base32: letters and
// digits 2–7 only, so it never looks like a card number.
func newID() string {
	b := make([]byte, 15)
	rand.Read(b)
	return b32.EncodeToString(b)
}

// securityHeaders are on every response; their values are built once
// (the keys are in canonical form).
var (
	securityHeaders = http.Header{
		"X-Content-Type-Options": {"nosniff"},
		"X-Frame-Options":        {"DENY"},
		"Referrer-Policy":        {"no-referrer"},
		"Content-Security-Policy": {"default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; " +
			"script-src 'self' 'unsafe-inline'; frame-ancestors 'none'; form-action 'self' http: https:"},
	}
	hsts = []string{"max-age=63072000; includeSubDomains"}
)

// Middleware wraps h with a correlation id, security headers, panic
// recovery (a generic 500 with the id) and a request log line with
// nothing from the body.
func Middleware(log *slog.Logger, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := newID()
		r = r.WithContext(context.WithValue(r.Context(), requestIDKey, id))
		hd := w.Header()
		hd["X-Request-Id"] = []string{id}
		for k, v := range securityHeaders {
			hd[k] = v // shared, never appended to: Set and Del replace the slice
		}
		if r.TLS != nil {
			hd["Strict-Transport-Security"] = hsts
		}
		rec := &statusWriter{ResponseWriter: w}
		start := time.Now()
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				log.Error("panic", "request_id", id, "path", r.URL.Path, "panic", fmt.Sprint(v))
				if !rec.wrote {
					Error(rec, r, nil, errors.New("panic"), "")
				}
			}
			log.Info("http", "request_id", id, "method", r.Method, "path", r.URL.Path, "status", rec.status,
				"ms", time.Since(start).Milliseconds())
		}()
		h.ServeHTTP(rec, r)
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(s int) {
	if !w.wrote {
		w.status, w.wrote = s, true
	}
	w.ResponseWriter.WriteHeader(s)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.status, w.wrote = http.StatusOK, true
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush lets streaming handlers flush through the wrapper.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// NewServer returns an http.Server with the limits every listener needs (S11).
func NewServer(addr string, h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second, MaxHeaderBytes: 32 << 10,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
}
