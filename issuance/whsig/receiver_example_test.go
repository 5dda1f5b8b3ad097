package whsig_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"time"

	"github.com/cardhost/cardhost/issuance/whsig"
)

// The receiver below is docs/webhooks.md's Go receiver, word for word
// (TestDocsShowTheGoReceiver keeps them equal): what an issuer writes,
// with the standard library only.

// receiver:begin

// verifyWebhook checks a cardhost webhook (Standard Webhooks): the
// timestamp is within 5 minutes, and one of the signatures in
// webhook-signature is HMAC-SHA256 of "id.timestamp.body" under the
// endpoint's secret.
func verifyWebhook(secret string, h http.Header, body []byte, now time.Time) error {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return errors.New("bad secret")
	}
	id, ts := h.Get("webhook-id"), h.Get("webhook-timestamp")
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || id == "" {
		return errors.New("missing webhook headers")
	}
	if d := now.Sub(time.Unix(unix, 0)); d > 5*time.Minute || d < -5*time.Minute {
		return errors.New("timestamp too old or too new")
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "."))
	mac.Write(body)
	want := []byte("v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	for _, sig := range strings.Fields(h.Get("webhook-signature")) {
		if hmac.Equal([]byte(sig), want) {
			return nil
		}
	}
	return errors.New("no valid signature")
}

// webhookHandler answers 204 to a valid delivery it has handled, 400 to
// one that does not verify. It must answer within 15 seconds; cardhost
// sends an event again (same webhook-id) until it gets a 2xx.
func webhookHandler(secret string, handle func(id string, event []byte) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil || verifyWebhook(secret, r.Header, body, time.Now()) != nil {
			http.Error(w, "invalid webhook", http.StatusBadRequest)
			return
		}
		// webhook-id is the event id: skip ids already handled.
		if err := handle(r.Header.Get("webhook-id"), body); err != nil {
			http.Error(w, "try again later", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// receiver:end

// Example_receiver runs the Go receiver of docs/webhooks.md against a
// delivery signed as cardhost signs it, during a rotation (two
// signatures), then against a tampered one.
func Example_receiver() {
	secret := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	key, _ := whsig.ParseSecret(secret)
	srv := httptest.NewServer(webhookHandler(secret, func(id string, event []byte) error {
		fmt.Printf("handled %s: %s\n", id, event)
		return nil
	}))
	defer srv.Close()
	send := func(body []byte, signed []byte) {
		req, _ := http.NewRequest("POST", srv.URL, bytes.NewReader(body))
		whsig.SetHeaders(req.Header, "019cebab-9935-758f-a620-1e9ed4314ca0", time.Now(), signed, whsig.NewSecret(), key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			fmt.Println(err)
			return
		}
		resp.Body.Close()
		fmt.Println(resp.StatusCode)
	}
	event := []byte(`{"type":"card.frozen","data":{"id":"crd_01"}}`)
	send(event, event)
	send([]byte(`{"type":"card.unfrozen","data":{"id":"crd_01"}}`), event)
	// Output:
	// handled 019cebab-9935-758f-a620-1e9ed4314ca0: {"type":"card.frozen","data":{"id":"crd_01"}}
	// 204
	// 400
}
