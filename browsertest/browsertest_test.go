package browsertest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

func TestBrowser(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if r.Method == http.MethodPost {
			r.ParseForm()
			fmt.Fprintf(w, `<p id="out">hello %s</p>`, r.FormValue("name"))
			return
		}
		fmt.Fprint(w, `<form method="post"><label>Name <input id="name" name="name"></label><button type="submit">Go</button></form>`)
	}))
	defer srv.Close()
	ctx := New(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL),
		chromedp.SendKeys(chromedp.CSS("#name"), "卡通"),
		chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#out"))); err != nil {
		t.Fatal(err)
	}
	if got := Text(t, ctx); !strings.Contains(got, "hello 卡通") {
		t.Fatalf("page says %q", got)
	}
	Screenshot(t, ctx, "form")
}
