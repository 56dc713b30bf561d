package wallet_test

import (
	"context"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// TestOpenAPI: the document the API serves loads and validates with
// kin-openapi, and names every route of the API with its method.
func TestOpenAPI(t *testing.T) {
	e := newEnv(t, options{fake: newFakeBank()})
	a := e.do("GET", "/wallet/api/v1/openapi.json", "", nil).want(t, 200, "")
	doc, err := openapi3.NewLoader().LoadFromData(a.body)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("validate: %v", err)
	}
	patterns := e.w.APIPatterns()
	if len(patterns) < 14 {
		t.Fatalf("only %d API routes", len(patterns))
	}
	documented := 0
	for _, p := range patterns {
		method, path, _ := strings.Cut(p, " ")
		item := doc.Paths.Find(path)
		if item == nil {
			t.Errorf("route %s is not in the OpenAPI document", p)
			continue
		}
		if item.GetOperation(method) == nil {
			t.Errorf("route %s: the document has the path but not the method", p)
			continue
		}
		documented++
	}
	// And nothing documented that the API does not serve.
	ops := 0
	for _, item := range doc.Paths.Map() {
		ops += len(item.Operations())
	}
	if documented != len(patterns) || ops != len(patterns) {
		t.Errorf("%d routes, %d documented, %d operations in the document", len(patterns), documented, ops)
	}
}
