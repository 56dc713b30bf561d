// Package browsertest runs pages in a real headless Chromium (Debian's
// chromium, driven by chromedp) for the browser tests of every channel.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Browser finds Chromium. Without it the test is skipped, loudly, unless
// KATONG_REQUIRE_BROWSER is set (CI sets it), in which case it fails.
func Browser(t testing.TB) string {
	t.Helper()
	for _, name := range []string{os.Getenv("KATONG_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("KATONG_REQUIRE_BROWSER") != "" {
		t.Fatal("chromium not found and KATONG_REQUIRE_BROWSER is set")
	}
	t.Skip("chromium not found: browser test skipped (apt-get install chromium)")
	return ""
}

// Usage with chromedp v0.23 (its API is generic):
//
//	ctx := browsertest.New(t)
//	err := chromedp.Do(ctx, chromedp.Navigate(url),
//		chromedp.SendKeys(chromedp.CSS("#mobile"), "13800138000"),
//		chromedp.Click(chromedp.CSS("button[type=submit]")),
//		chromedp.WaitVisible(chromedp.CSS("#balance")))
//	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#balance")))

// New starts a headless Chromium with a fresh profile and returns a tab's
// context, closed when the test ends. Every action has at most a minute.
func New(t testing.TB) context.Context {
	t.Helper()
	exe := Browser(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(412, 915),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	ctx, cancelTime := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(func() {
		cancelTime()
		cancelTab()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// Screenshot saves a full-page PNG of the tab as a test artefact under
// $KATONG_ARTIFACTS (default: katong-artifacts in the temp dir) and
// returns its path.
func Screenshot(t testing.TB, ctx context.Context, name string) string {
	t.Helper()
	dir := os.Getenv("KATONG_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "katong-artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	safe := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name() + "-" + name)
	p := filepath.Join(dir, safe+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s", p)
	return p
}

// Text returns the visible text of the page body.
func Text(t testing.TB, ctx context.Context) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
	if err != nil {
		t.Fatalf("read page: %v", err)
	}
	return s
}

// WaitText waits (up to 10 s) until the text of the element css satisfies
// ok, and returns it; otherwise it saves a screenshot and fails the test.
func WaitText(t testing.TB, ctx context.Context, css string, ok func(string) bool) string {
	t.Helper()
	var s string
	var err error
	for i := 0; i < 100; i++ {
		s, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS(css)))
		if err == nil && ok(s) {
			return s
		}
		time.Sleep(100 * time.Millisecond)
	}
	Screenshot(t, ctx, "stuck")
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	t.Fatalf("%s: %q (%v) at %s: %s", css, s, err, loc, Text(t, ctx))
	return ""
}
