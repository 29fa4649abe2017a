//go:build unix

package interop

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rshm/rshm/rsocket/internal/wire"
	"github.com/rshm/rshm/rsocket/rsockettest"
)

// rsocket-js 0.0.27's WebSocket client in a real browser: headless
// Chromium loads a page (testdata/js/browser) from the test's HTTP server,
// which also serves RSocket over WebSocket at /rsocket; the page makes a
// request-response, a request-stream with request(n) and a channel, and
// POSTs what it saw to /result.

// browserTimeout bounds the browser's start and the page's work.
const browserTimeout = 20 * time.Second

// browserPackages are the rsocket-js packages the page loads, served from
// node_modules through testdata/js/browser/require.js.
var browserPackages = []string{"rsocket-core", "rsocket-flowable", "rsocket-types", "rsocket-websocket-client"}

// findChromium returns the Chromium (or Chrome) executable, or skips.
func findChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("interop: no chromium in PATH; install it (apt-get install chromium; .ci/run does) to run the browser test")
	return ""
}

// browserModules returns the rsocket-js packages' CommonJS files wrapped for
// require.js: one rshmDefine per file of each package's build directory,
// one rshmPackage per package.
func browserModules(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	for _, pkg := range browserPackages {
		dir := filepath.Join(jsDir, "node_modules", pkg)
		raw, err := os.ReadFile(filepath.Join(dir, "package.json"))
		if err != nil {
			t.Skipf("interop: %v; run `npm ci` in %s (make test does)", err, jsDir)
		}
		var meta struct{ Main string }
		if err := json.Unmarshal(raw, &meta); err != nil || meta.Main == "" {
			t.Fatalf("%s/package.json: no main (%v)", pkg, err)
		}
		fmt.Fprintf(&b, "rshmPackage(%q, %q);\n", pkg, meta.Main)
		files, err := filepath.Glob(filepath.Join(dir, "build", "*.js"))
		if err != nil || len(files) == 0 {
			t.Fatalf("%s: no build/*.js (%v)", pkg, err)
		}
		for _, f := range files {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "rshmDefine(%q, function (require, module, exports) {\n%s\n});\n", pkg+"/build/"+filepath.Base(f), src)
		}
	}
	return b.Bytes()
}

// browserResult is what the page POSTs.
type browserResult struct {
	OK              bool
	Error           string
	UserAgent       string
	RR              struct{ Data, Metadata string }
	StreamFirst     []string
	StreamDoneEarly bool
	Stream          []string
	Channel         []string
}

func TestBrowserClientGoServer(t *testing.T) {
	chromium := findChromium(t)
	modules := browserModules(t)
	rec := newRecorder()
	spies := make(chan *rsockettest.Spy, 1)
	results := make(chan browserResult, 1)

	srv := serveWS(t, echoServer(rec, 0), spyOn(spies))
	mux := srv.Config.Handler.(*http.ServeMux)
	page := http.FileServer(http.Dir(filepath.Join(jsDir, "browser")))
	mux.Handle("/", page)
	mux.HandleFunc("/modules.js", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		w.Write(modules)
	})
	mux.HandleFunc("/result", func(w http.ResponseWriter, r *http.Request) {
		var res browserResult
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &res); err != nil {
			res = browserResult{Error: fmt.Sprintf("bad result %q: %v", body, err)}
		}
		select {
		case results <- res:
		default: // one result is enough
		}
	})

	ctx, cancel := context.WithTimeout(context.Background(), browserTimeout)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.Command(chromium,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--user-data-dir="+t.TempDir(),
		srv.URL+"/index.html")
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	// Its own process group, so that the browser's helper processes go
	// with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	}

	var res browserResult
	select {
	case res = <-results:
		stop()
	case err := <-exited:
		t.Fatalf("chromium exited (%v) before the page reported:\n%s", err, stderr.String())
	case <-ctx.Done():
		stop()
		t.Fatalf("the page reported nothing in %v; chromium said:\n%s", browserTimeout, stderr.String())
	}
	if !res.OK {
		t.Fatalf("the page failed: %s", res.Error)
	}
	t.Logf("browser: %s", res.UserAgent)
	if !strings.Contains(res.UserAgent, "Chrome") {
		t.Errorf("user agent %q is not Chromium's", res.UserAgent)
	}
	if res.RR.Data != "hello" || res.RR.Metadata != "meta" {
		t.Errorf("request-response = %q/%q; want hello/meta", res.RR.Data, res.RR.Metadata)
	}
	if !slices.Equal(res.StreamFirst, []string{"0", "1"}) || res.StreamDoneEarly {
		t.Errorf("after request(2): %q, done %v; want [0 1], not done", res.StreamFirst, res.StreamDoneEarly)
	}
	if !slices.Equal(res.Stream, []string{"0", "1", "2", "3", "4"}) {
		t.Errorf("stream = %q; want 0..4", res.Stream)
	}
	if !slices.Equal(res.Channel, []string{"a", "b", "c"}) {
		t.Errorf("channel = %q; want [a b c]", res.Channel)
	}

	// What the rshm side saw: the payloads, and the stream's credit coming
	// as request(2) with the request and REQUEST_N(3) later.
	rec.wait(ctx, t, 0, "rr", kind("rr", "data", "hello", "metadata", "meta"))
	rec.wait(ctx, t, 0, "stream complete", kind("complete", "model", "stream", "sent", "5"))
	rec.wait(ctx, t, 0, "channel b", kind("channelNext", "data", "b", "metadata", "mb"))
	rec.wait(ctx, t, 0, "channel complete", kind("complete", "model", "channel", "sent", "3"))
	var credits []uint32
	for _, r := range (<-spies).Log() {
		if !r.Out && (r.Type == wire.TypeRequestStream || r.Type == wire.TypeRequestN) {
			credits = append(credits, r.N)
		}
	}
	if len(credits) < 2 || credits[0] != 2 || credits[1] != 3 {
		t.Errorf("the stream's credits from the browser: %v; want [2 3]", credits)
	}
}
