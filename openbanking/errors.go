package openbanking

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"katong"
)

// Protocol codes of this channel only: situations the product's
// vocabulary has no word for. They never leave the package; the header
// X-Katong-Code carries a product code for each.
const (
	cNotAcceptable   katong.Code = "ob:not_acceptable"   // 406
	cUnsupportedType katong.Code = "ob:unsupported_type" // 415
	cOutsideConsent  katong.Code = "ob:outside_consent"  // 403: permission not granted, account not in the consent, wrong token
	cUnknownID       katong.Code = "ob:unknown_id"       // 400 U011: no such resource id
	cBadDate         katong.Code = "ob:bad_date"         // 400 U003
	cMissingHeader   katong.Code = "ob:missing_header"   // 400 U007
	cBadHeader       katong.Code = "ob:bad_header"       // 400 U006
	cMissingField    katong.Code = "ob:missing_field"    // 400 U004
	cExpectedField   katong.Code = "ob:expected_field"   // 400 U001
	cCurrency        katong.Code = "ob:currency"         // 400 U023
	cMalformed       katong.Code = "ob:malformed"        // 400 U010
)

// answer is how this channel says a code: HTTP status, OBIE v4 ErrorCode
// ("" for no body) and the product code for X-Katong-Code.
type answer struct {
	status int
	obCode string
	katong katong.Code
}

// answers maps every code to its answer: the one place this channel
// translates codes (docs/bank-link.md "Katong's extra answer header").
var answers = map[katong.Code]answer{
	katong.EAbnormal:     {http.StatusForbidden, "U009", katong.EAbnormal},
	katong.EClosed:       {http.StatusForbidden, "U009", katong.EAbnormal},
	katong.ENotFound:     {http.StatusBadRequest, "U011", katong.ENotFound},
	cUnknownID:           {http.StatusBadRequest, "U011", katong.ENotFound},
	cOutsideConsent:      {http.StatusForbidden, "U008", katong.ENotFound},
	katong.EForbidden:    {http.StatusForbidden, "U008", katong.EForbidden},
	katong.EUnauthorized: {http.StatusUnauthorized, "", katong.EUnauthorized},
	katong.ERateLimited:  {http.StatusTooManyRequests, "", katong.ERateLimited},
	katong.ELocked:       {http.StatusTooManyRequests, "", katong.ERateLimited},
	katong.EInsufficient: {http.StatusBadRequest, "U002", katong.EInsufficient},
	katong.EKeyReused:    {http.StatusUnprocessableEntity, "U002", katong.EKeyReused},
	katong.EConflict:     {http.StatusConflict, "U029", katong.EConflict},
	katong.EInvalid:      {http.StatusBadRequest, "U002", katong.EInvalid},
	katong.ETooLarge:     {http.StatusRequestEntityTooLarge, "U010", katong.ETooLarge},
	katong.EInternal:     {http.StatusInternalServerError, "U000", katong.EInternal},
	katong.ENetwork:      {http.StatusServiceUnavailable, "U000", katong.ENetwork},
	cNotAcceptable:       {http.StatusNotAcceptable, "", katong.EInvalid},
	cUnsupportedType:     {http.StatusUnsupportedMediaType, "U010", katong.EInvalid},
	cBadDate:             {http.StatusBadRequest, "U003", katong.EInvalid},
	cMissingHeader:       {http.StatusBadRequest, "U007", katong.EInvalid},
	cBadHeader:           {http.StatusBadRequest, "U006", katong.EInvalid},
	cMissingField:        {http.StatusBadRequest, "U004", katong.EInvalid},
	cExpectedField:       {http.StatusBadRequest, "U001", katong.EInvalid},
	cCurrency:            {http.StatusBadRequest, "U023", katong.EInvalid},
	cMalformed:           {http.StatusBadRequest, "U010", katong.EInvalid},
}

// obError is an OBIE v4 OBError1.
type obError struct {
	ErrorCode string `json:"ErrorCode"`
	Message   string `json:"Message,omitempty"`
	Path      string `json:"Path,omitempty"`
}

// obErrorResponse is an OBIE v4 OBErrorResponse1.
type obErrorResponse struct {
	ID     string    `json:"Id,omitempty"`
	Errors []obError `json:"Errors"`
}

// fail answers err on the API: status, X-Katong-Code, Retry-After for a
// limit, and an OBErrorResponse1 body where the spec declares one. 401
// has no body (RFC 6750). Internal errors say nothing but the
// interaction id; their cause goes to the log.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	e := katong.AsError(err)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		e = &katong.Error{Code: katong.EInternal, Err: err}
	}
	a, ok := answers[e.Code]
	if !ok {
		e = &katong.Error{Code: katong.EInternal, Err: err}
		a = answers[katong.EInternal]
	}
	id := w.Header().Get("x-fapi-interaction-id")
	h := w.Header()
	h.Set("X-Katong-Code", string(a.katong))
	h.Set("Cache-Control", "no-store")
	switch a.status {
	case http.StatusUnauthorized:
		h.Set("WWW-Authenticate", `Bearer realm="`+s.prefix+`", error="invalid_token"`)
	case http.StatusTooManyRequests:
		h.Set("Retry-After", strconv.Itoa(katong.Seconds(e.RetryAfter)))
	}
	if e.Code == katong.EInternal {
		s.log.Error("open banking internal error", "interaction_id", id, "path", r.URL.Path,
			"err", katong.Redact(errString(err)))
	}
	if a.obCode == "" {
		w.WriteHeader(a.status)
		return
	}
	msg := katong.Text(a.katong, katong.EN)
	switch {
	case e.Code == katong.EInternal || e.Code == katong.ENetwork:
	case e.Message != "":
		msg += ": " + katong.Redact(e.Message)
	}
	if len(msg) > 500 {
		msg = msg[:500]
	}
	body := obErrorResponse{ID: id, Errors: []obError{{ErrorCode: a.obCode, Message: msg, Path: e.Field}}}
	if len(body.ID) > 40 {
		body.ID = ""
	}
	h.Set("Content-Type", "application/json")
	w.WriteHeader(a.status)
	json.NewEncoder(w).Encode(body)
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// obErr returns an *katong.Error of a code with a field (the OBIE Path)
// and a message.
func obErr(code katong.Code, path, msg string) *katong.Error {
	return &katong.Error{Code: code, Field: path, Message: msg}
}
