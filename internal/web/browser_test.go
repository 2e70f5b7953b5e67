package web_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/posml/posml/internal/auth"
	"github.com/posml/posml/internal/web"
)

// TestBrowser clicks through the UI in headless Chromium (Debian's
// chromium package) with test/ui/ui_test.mjs (playwright-core), against a
// seeded server, and saves screenshots in test/ui/screenshots/ (or
// $POSML_UI_SCREENSHOTS). It skips when /usr/bin/chromium or node is
// missing.
func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test in -short mode")
	}
	if _, err := os.Stat("/usr/bin/chromium"); err != nil {
		t.Skip("no /usr/bin/chromium (apt-get install chromium)")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("no node on PATH")
	}
	dir, err := filepath.Abs("../../test/ui")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "playwright-core")); err != nil {
		npm := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund")
		npm.Dir = dir
		if out, err := npm.CombinedOutput(); err != nil {
			t.Fatalf("npm ci in test/ui: %v\n%s", err, out)
		}
	}
	shots := os.Getenv("POSML_UI_SCREENSHOTS")
	if shots == "" {
		shots = filepath.Join(dir, "screenshots")
	}
	f := newFixture(t)
	// The running pipeline run's log grows while the browser watches it.
	as, err := f.Store.Attempts(ctx, f.Pipes.Running)
	if err != nil || len(as) != 1 {
		t.Fatalf("attempts of the running run: %v, %v", as, err)
	}
	logf, err := os.OpenFile(as[0].LogPath, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	grow, stopGrow := context.WithCancel(ctx)
	grew := make(chan struct{})
	go func() { // waited for below
		defer close(grew)
		for i := 0; ; i++ {
			select {
			case <-grow.Done():
				return
			case <-time.After(200 * time.Millisecond):
				fmt.Fprintf(logf, "tick %d\n", i)
			}
		}
	}()
	defer func() { stopGrow(); <-grew }()
	// A second UI over the same store that requires a login, for the
	// login page's steps.
	users := auth.NewUsers(f.Store)
	if _, err := users.AddUser(ctx, "alice", "correct horse battery", false); err != nil {
		t.Fatal(err)
	}
	login := httptest.NewServer(web.Handler(web.Deps{Store: f.Store}, web.Options{Users: users}))
	defer login.Close()
	cmd := exec.CommandContext(ctx, node, "ui_test.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "POSML_URL="+f.URL, "POSML_LOGIN_URL="+login.URL, "SCREENSHOT_DIR="+shots)
	out, err := cmd.CombinedOutput()
	t.Logf("node ui_test.mjs:\n%s", out)
	if err != nil {
		t.Fatalf("browser test failed: %v", err)
	}
	if !regexp.MustCompile(`(?m)^\d+ passed, 0 failed$`).Match(out) {
		t.Fatal("no \"N passed, 0 failed\" line")
	}
}
