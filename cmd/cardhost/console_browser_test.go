package main

import (
	"context"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/cardhost/cardhost/cmd/termsim/scenario"
)

var updateScreenshots = flag.Bool("update-screenshots", false, "write the console's screenshots taken by TestConsoleInBrowser to docs/console/")

// chromiumPath finds Debian's Chromium (or CARDHOST_CHROMIUM); the test
// skips, saying why, where there is none. .ci/run installs it.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("CARDHOST_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil { // elsewhere on PATH: .ci/run then installs nothing
		return p
	}
	t.Skip("no Chromium: the console's browser tests need it (apt-get install -y chromium, as .ci/run does, or set CARDHOST_CHROMIUM)")
	return ""
}

// newBrowser starts headless Chromium for the test.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	path := chromiumPath(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.WindowSize(1280, 1000),
		chromedp.Flag("disable-dev-shm-usage", true))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(func() { cancel(); cancelCtx(); cancelAlloc() })
	return ctx
}

// screenshot captures the page (the whole page) into docs/console/name.png
// when -update-screenshots is given; it is taken in every run.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if !*updateScreenshots {
		return
	}
	dir := filepath.Join("..", "..", "docs", "console")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// text is the visible text of the first element matching sel.
func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(sel))
	if err != nil {
		t.Fatalf("reading %s: %v", sel, err)
	}
	return s
}

// TestConsoleInBrowser drives the console in headless Chromium against
// the real server: sign in, search a card by its last four digits, freeze
// it and see the status change, watch an authorization sent by termsim
// over ISO 8583 appear in the live stream, get 404 for another tenant's
// card, and have a form without its CSRF token refused. With
// -update-screenshots it writes docs/console/*.png.
func TestConsoleInBrowser(t *testing.T) {
	ctx := newBrowser(t)
	env := testEnv(t)
	a := startApp(t, env)
	key := a.sandboxKey(t)
	is := a.issuer(t, "http")
	card, info := newCard(t, is, termsimCardRequest())
	iso := dialISO(t, a.ISOAddr())
	term := newTerminal(t, "CONSOLE1")
	for i := range 4 {
		purchase(t, iso, term, card, int64(1000+250*i), 10*time.Second)
	}
	// Another tenant's card.
	_, otherKey := cliTenant(t, env, "Other issuer", true)
	otherAPI, err := scenario.NewAPI(a.base(), otherKey, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_, other := newCard(t, &scenario.Issuer{API: otherAPI, TransportKey: is.TransportKey}, scenario.CardRequest{})

	base := a.base() + "/console"
	// Sign in.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(`#api_key`),
	); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "login")
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(`#api_key`, key),
		chromedp.Submit(`#api_key`),
		chromedp.WaitVisible(`#overview`),
	); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(strings.Fields(text(t, ctx, `.tiles`)), " "); !strings.Contains(got, "4 requests, 4 approved 100.0% approval rate") {
		t.Errorf("overview tiles: %q", got)
	}
	screenshot(t, ctx, "overview")

	// Search the card by its last four digits and open it.
	if err := chromedp.Do(ctx,
		chromedp.Click(`a[href="/console/cards"]`),
		chromedp.WaitVisible(`#last4`),
		chromedp.SendKeys(`#last4`, info.Last4),
		chromedp.Click(`form.search button`),
		chromedp.WaitVisible(`a[href="/console/cards/`+info.CardID+`"]`),
	); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "cards")
	if err := chromedp.Do(ctx,
		chromedp.Click(`a[href="/console/cards/`+info.CardID+`"]`),
		chromedp.WaitVisible(`#card-summary`),
	); err != nil {
		t.Fatal(err)
	}
	if got := text(t, ctx, `#card-summary h2`); !strings.Contains(got, info.MaskedPAN) || !strings.Contains(got, "ACTIVE") {
		t.Fatalf("card page heading %q, want %s ACTIVE", got, info.MaskedPAN)
	}
	screenshot(t, ctx, "card")

	// Reveal it (sandbox keys may) and leave: htmx keeps no copy of the
	// pages it swapped (its history cache is off), so the number stays
	// nowhere in the browser's storage.
	if err := chromedp.Do(ctx,
		chromedp.Click(`form[action$="/reveal"] button`),
		chromedp.WaitVisible(`code.pan-full`),
	); err != nil {
		t.Fatal(err)
	}
	pan := strings.ReplaceAll(text(t, ctx, `code.pan-full`), " ", "")
	if len(pan) < 13 || !strings.HasSuffix(pan, info.Last4) {
		t.Fatalf("revealed %q", pan)
	}
	if err := chromedp.Do(ctx,
		chromedp.Click(`a[href="/console/cards/`+info.CardID+`"]`),
		chromedp.WaitVisible(`#card-summary`),
	); err != nil {
		t.Fatal(err)
	}
	stored, err := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify(sessionStorage) + JSON.stringify(localStorage)`))
	if stored = strings.ReplaceAll(stored, " ", ""); err != nil || strings.Contains(stored, pan) {
		t.Fatalf("browser storage holds the card number (%v)", err)
	}

	// Freeze it and see the status change.
	if err := chromedp.Do(ctx,
		chromedp.Click(`form.action-freeze button`),
		chromedp.WaitVisible(`#card-summary .status-FROZEN`),
	); err != nil {
		t.Fatal(err)
	}
	if got := text(t, ctx, `p.notice`); got != "The card is frozen." {
		t.Errorf("notice after freezing: %q", got)
	}

	// A form whose CSRF token was removed is refused, and changes nothing.
	if err := chromedp.Do(ctx,
		chromedp.Evaluate[chromedp.Void](`document.querySelector('form.action-unfreeze input[name=csrf_token]').remove()`),
		chromedp.Click(`form.action-unfreeze button`),
		chromedp.WaitVisible(`p.error`),
	); err != nil {
		t.Fatal(err)
	}
	if got := text(t, ctx, `p.error`); !strings.Contains(got, "403") || !strings.Contains(got, "CSRF") {
		t.Errorf("form without its token: %q", got)
	}
	if status := cardStatus(t, is, info.CardID); status != "FROZEN" {
		t.Fatalf("a refused form changed the card: %s", status)
	}

	// The live stream shows an authorization sent by termsim.
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/stream"), chromedp.WaitVisible(`#stream-rows`)); err != nil {
		t.Fatal(err)
	}
	before, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('#stream-rows tr.auth').length`))
	if err != nil {
		t.Fatal(err)
	}
	if before != 4 {
		t.Errorf("stream page shows %d records, want the 4 purchases", before)
	}
	r := purchase(t, iso, term, card, 777, 10*time.Second)
	if r.Code != "62" {
		t.Fatalf("purchase on a frozen card: %s", r.Code)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelectorAll('#stream-rows tr.auth').length > 4`, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		t.Fatalf("the new authorization did not appear in the live stream: %v", err)
	}
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('#stream-rows tr.auth').length`))
	if err != nil {
		t.Fatal(err)
	}
	if got := text(t, ctx, `#stream-rows tr.auth`); !strings.Contains(got, info.MaskedPAN) || !strings.Contains(got, "The card is frozen") ||
		!strings.Contains(got, "7.77") || !strings.Contains(got, "cardhost") {
		t.Errorf("newest stream row: %q", got)
	}
	if rows != 5 {
		t.Errorf("%d rows after one new authorization, want 5", rows)
	}
	screenshot(t, ctx, "stream")

	// Another tenant's card answers 404.
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(base+"/cards/"+other.CardID))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != 404 {
		t.Errorf("another tenant's card answers %d, want 404", resp.Status)
	}
	if got := text(t, ctx, `p.error`); !strings.Contains(got, "404") {
		t.Errorf("another tenant's card: %q", got)
	}

	// The events page lists the card's events (for the docs).
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/events?card_id="+info.CardID), chromedp.WaitVisible(`table.events`)); err != nil {
		t.Fatal(err)
	}
	if got := text(t, ctx, `table.events`); !strings.Contains(got, "card.frozen") || !strings.Contains(got, "authorization.declined") {
		t.Errorf("the card's events: %q", got)
	}
	screenshot(t, ctx, "events")

	// The keys page, for the docs.
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/keys"), chromedp.WaitVisible(`table.keys`)); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "keys")
}

// cardStatus reads a card's status over the API.
func cardStatus(t *testing.T, is *scenario.Issuer, id string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := is.API.Card(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return c.Status
}
