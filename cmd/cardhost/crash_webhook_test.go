package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	pgxv5 "github.com/jackc/pgx/v5"
)

// crashReceiver is the webhook endpoint of the crash test: it records
// every request (id, time, whether its signature verifies with the
// standard library) and answers 200 after up to 40 ms, so that some
// attempts are in flight when cardhost is killed.
type crashReceiver struct {
	srv      *httptest.Server
	secret   []byte
	endpoint string
	created  time.Time
	mu       sync.Mutex
	got      map[string][]time.Time
	badSig   int
}

func newCrashReceiver(t *testing.T, api, key string) *crashReceiver {
	t.Helper()
	rc := &crashReceiver{got: map[string][]time.Time{}}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		id, ts := r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp")
		mac := hmac.New(sha256.New, rc.secret)
		mac.Write([]byte(id + "." + ts + "."))
		mac.Write(body)
		ok := r.Header.Get("webhook-signature") == "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil))
		time.Sleep(time.Duration(rand.IntN(40)) * time.Millisecond)
		rc.mu.Lock()
		rc.got[id] = append(rc.got[id], time.Now())
		if !ok {
			rc.badSig++
		}
		rc.mu.Unlock()
	}))
	t.Cleanup(rc.srv.Close)
	body, _ := json.Marshal(map[string]any{"url": rc.srv.URL + "/hooks", "event_types": []string{"card.*", "authorization.*"}})
	req, _ := http.NewRequest("POST", api+"/v1/webhook-endpoints", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var ep struct {
		ID        string    `json:"id"`
		Secret    string    `json:"secret"`
		CreatedAt time.Time `json:"created_at"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&ep); err != nil || resp.StatusCode != 201 {
		t.Fatalf("creating the webhook endpoint: %d %v", resp.StatusCode, err)
	}
	rc.secret, err = base64.StdEncoding.DecodeString(strings.TrimPrefix(ep.Secret, "whsec_"))
	if err != nil {
		t.Fatal(err)
	}
	rc.endpoint, rc.created = ep.ID, ep.CreatedAt
	return rc
}

// check compares what the endpoint received with the events cardhost
// stored: (f) each card and authorization event since the endpoint was
// created arrived, signed; nothing else arrived; every delivery is
// delivered; an event arrived twice only with a kill between the two.
func (rc *crashReceiver) check(t *testing.T, conn *pgxv5.Conn, kills []time.Time) {
	t.Helper()
	rows, err := conn.Query(t.Context(), `SELECT event_id FROM outbox WHERE time >= $1 AND (type LIKE 'card.%' OR type LIKE 'authorization.%')`, rc.created)
	if err != nil {
		t.Fatal(err)
	}
	want, err := pgxv5.CollectRows(rows, pgxv5.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	expected := map[string]bool{}
	missing, repeats := 0, 0
	for _, id := range want {
		expected[id] = true
		if len(rc.got[id]) == 0 {
			missing++
		}
	}
	if missing > 0 {
		t.Errorf("(f) %d of %d events never reached the webhook endpoint", missing, len(want))
	}
	for id, times := range rc.got {
		if !expected[id] {
			t.Errorf("(f) the endpoint received %s, which is no event of its types", id)
		}
		for i := 1; i < len(times); i++ {
			repeats++
			killed := false
			for _, k := range kills {
				killed = killed || (!k.Before(times[i-1].Add(-time.Second)) && !k.After(times[i]))
			}
			if !killed {
				t.Errorf("(f) event %s was delivered again at %s with no kill since %s: an acknowledged delivery was re-sent",
					id, times[i].Format(time.StampMilli), times[i-1].Format(time.StampMilli))
			}
		}
	}
	if rc.badSig > 0 {
		t.Errorf("(f) %d deliveries had a signature that does not verify", rc.badSig)
	}
	var undelivered int
	if err := conn.QueryRow(t.Context(), `SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = $1 AND status <> 'delivered'`, rc.endpoint).Scan(&undelivered); err != nil || undelivered != 0 {
		t.Errorf("(f) %d deliveries are not delivered (%v)", undelivered, err)
	}
	t.Logf("(f) %d events delivered to the webhook endpoint, %d again after a kill (in flight when it came)", len(want), repeats)
}
