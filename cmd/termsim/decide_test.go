package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cardhost/cardhost/issuance/whsig"
)

// TestDeciderCommand: `termsim decider` on a free port answers decision
// requests signed with its --secret by its rules (approve; decline above
// --decline-above with --reason), refuses a request signed with another
// secret (401), and counts them when interrupted.
func TestDeciderCommand(t *testing.T) {
	secret, other := whsig.NewSecret(), whsig.NewSecret()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"decider", "--addr", "127.0.0.1:0", "--decline-above", "5000", "--reason", "insufficient_funds",
			"--secret", secret.Reveal()}, &stdout, &stderr)
	}()
	urlRE := regexp.MustCompile(`"url": "(http://127\.0\.0\.1:\d+/decide)"`)
	var url string
	for deadline := time.Now().Add(10 * time.Second); url == ""; time.Sleep(10 * time.Millisecond) {
		if m := urlRE.FindStringSubmatch(stdout.String()); m != nil {
			url = m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("no URL printed: %q %q", stdout.String(), stderr.String())
		}
	}
	ask := func(amount int64, key whsig.Secret) (int, string) {
		t.Helper()
		id := fmt.Sprintf("auth_TEST%d", amount)
		body := fmt.Sprintf(`{"type":"authorization.decision_request","id":%q,"card_id":"crd_01","amount":%d,"currency":"USD","card_amount":%d}`, id, amount, amount)
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		whsig.SetHeaders(req.Header, id, time.Now(), []byte(body), key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		if resp.StatusCode != http.StatusOK {
			return resp.StatusCode, ""
		}
		var a map[string]any
		if err := json.Unmarshal(b.Bytes(), &a); err != nil {
			t.Fatalf("answer %q: %v", b.String(), err)
		}
		out, _ := json.Marshal(a) // keys sorted
		return resp.StatusCode, string(out)
	}
	for _, tc := range []struct {
		amount int64
		key    whsig.Secret
		status int
		answer string
	}{
		{1000, secret, 200, `{"approved":true}`},
		{5000, secret, 200, `{"approved":true}`},
		{5001, secret, 200, `{"approved":false,"reason":"insufficient_funds"}`},
		{1000, other, http.StatusUnauthorized, ""},
	} {
		if status, answer := ask(tc.amount, tc.key); status != tc.status || answer != tc.answer {
			t.Errorf("card_amount %d: %d %s, want %d %s", tc.amount, status, answer, tc.status, tc.answer)
		}
	}
	cancel()
	if code := <-done; code != exitOK || !strings.Contains(stdout.String(), "decider: 4 requests, 1 with a bad signature") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
	}
}
