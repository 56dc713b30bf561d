package bankapp_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// loadOpenAPI fetches the served document and checks that it is valid.
func loadOpenAPI(t *testing.T, e *env) *openapi3.T {
	t.Helper()
	r := e.api("GET", "/openapi.json", "", nil)
	if r.Status != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("openapi.json: %d %s", r.Status, r.Header.Get("Content-Type"))
	}
	loader := openapi3.NewLoader()
	loader.IsExternalRefsAllowed = false
	doc, err := loader.LoadFromData(r.Body)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("validate: %v", err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi = %q; want 3.1.0", doc.OpenAPI)
	}
	return doc
}

// Every API route the app registers is in the document, and everything
// the document describes is registered.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	e := newEnv(t)
	doc := loadOpenAPI(t, e)
	prefix := e.app.Prefix() + "/api/v1"
	registered := map[string]bool{}
	for _, route := range e.app.Routes() {
		method, path, _ := strings.Cut(route, " ")
		if !strings.HasPrefix(path, prefix+"/") {
			continue
		}
		path = strings.TrimPrefix(path, prefix)
		registered[method+" "+path] = true
		item := doc.Paths.Value(path)
		if item == nil || item.GetOperation(method) == nil {
			t.Errorf("route %s is not in the OpenAPI document", route)
		}
	}
	if len(registered) < 9 {
		t.Fatalf("only %d API routes registered", len(registered))
	}
	var described []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			described = append(described, method+" "+path)
			if !registered[method+" "+path] {
				t.Errorf("the document describes %s %s, which is not registered", method, path)
			}
		}
	}
	sort.Strings(described)
	t.Logf("described: %v", described)
}

// Every answer of the API, happy or not, matches the document: status
// declared, headers and body of the declared schema.
func TestOpenAPIResponsesMatch(t *testing.T) {
	e := newEnv(t)
	doc := loadOpenAPI(t, e)
	e.seed()
	alice, frozen := e.login(e.w.Alice), e.login(e.w.Frozen)
	acct, fz := id(e.w.Alice.Account), id(e.w.Frozen.Account)
	start := len(e.rec.exchanges())
	e.api("POST", "/sessions", "", map[string]string{"mobile": e.w.Bob.Mobile, "password": e.w.Bob.Password, "device": "x"})
	e.api("POST", "/sessions", "", map[string]string{"mobile": e.w.Bob.Mobile, "password": "wrong-password"})
	e.api("POST", "/sessions", "", `{"mobile":"1"}`)
	e.api("POST", "/sessions", "", bytes.Repeat([]byte("x"), 1<<20))
	e.api("GET", "/accounts", alice, nil)
	e.api("GET", "/accounts", frozen, nil)
	e.api("GET", "/accounts", "", nil)
	e.api("GET", "/accounts/"+acct, alice, nil)
	e.api("GET", "/accounts/"+fz, frozen, nil)
	e.api("GET", "/accounts/"+fz, alice, nil)
	e.api("GET", "/accounts/"+acct+"/transactions?limit=3", alice, nil)
	e.api("GET", "/accounts/"+acct+"/transactions?limit=100&lang=en", alice, nil)
	e.api("GET", "/accounts/"+acct+"/transactions?from=bad", alice, nil)
	e.api("GET", "/accounts/"+fz+"/transactions", frozen, nil)
	e.api("GET", "/accounts/"+acct+"/transactions.csv", alice, nil)
	e.api("GET", "/accounts/"+acct+"/transactions.csv", frozen, nil)
	e.api("GET", "/notices", alice, nil)
	e.api("POST", "/password", alice, map[string]string{"old_password": "nope-nope", "new_password": "whatever-long"})
	e.api("POST", "/password", alice, map[string]string{"old_password": e.w.Alice.Password, "new_password": "a-new-password-9"})
	e.api("PUT", "/accounts", alice, `{}`)
	for i := 0; i < e.w.Bank.Config.Limits.App.N; i++ {
		e.api("GET", "/accounts/"+acct, alice, nil)
	}
	e.api("DELETE", "/sessions/current", alice, nil)

	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	statuses := map[int]bool{}
	for _, x := range e.rec.exchanges()[start:] {
		// Route with the document's relative server URL.
		u, _ := url.Parse(x.Req.URL.String())
		req := x.Req.Clone(context.Background())
		req.URL = &url.URL{Path: u.Path, RawQuery: u.RawQuery}
		req.Host = ""
		req.Body = io.NopCloser(strings.NewReader(""))
		route, params, err := router.FindRoute(req)
		if x.Status == http.StatusMethodNotAllowed {
			if err == nil {
				t.Errorf("%s %s answered 405 but the document has it", x.Method, x.Path)
			}
			statuses[x.Status] = true
			continue
		}
		if err != nil {
			t.Errorf("%s %s: not in the document: %v", x.Method, x.Path, err)
			continue
		}
		in := &openapi3filter.ResponseValidationInput{
			RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
				Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}},
			Status:  x.Status,
			Header:  x.Header,
			Options: &openapi3filter.Options{IncludeResponseStatus: true},
		}
		in.SetBodyBytes(x.Body)
		if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
			t.Errorf("%s %s → %d does not match the document: %v\n%s", x.Method, x.Path, x.Status, err, x.Body)
		}
		statuses[x.Status] = true
	}
	for _, st := range []int{200, 201, 204, 400, 401, 403, 404, 405, 413, 429} {
		if !statuses[st] {
			t.Errorf("no response with status %d was checked", st)
		}
	}
}
