package whsig

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// vector is one signature of testdata/vectors/standard_webhooks.json.
type vector struct {
	Name      string `json:"name"`
	Source    string `json:"source"`
	Secret    string `json:"secret"`
	ID        string `json:"id"`
	Timestamp int64  `json:"timestamp"`
	Payload   string `json:"payload"`
	Signature string `json:"signature"`
}

func loadVectors(t *testing.T) []vector {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "testdata", "vectors", "standard_webhooks.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Algorithm string                       `json:"algorithm"`
		Sources   map[string]map[string]string `json:"sources"`
		Vectors   []vector                     `json:"vectors"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		t.Fatal(err)
	}
	if f.Algorithm == "" || len(f.Vectors) == 0 {
		t.Fatal("the vector file has no algorithm or vectors")
	}
	for _, v := range f.Vectors {
		if src, ok := f.Sources[v.Source]; !ok || src["repository"] == "" {
			t.Fatalf("vector %q cites unknown source %q", v.Name, v.Source)
		}
	}
	return f.Vectors
}

// TestSignPublishedVectors signs the Standard Webhooks reference
// library's vector and verifies it back.
func TestSignPublishedVectors(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			s, err := ParseSecret(v.Secret)
			if err != nil {
				t.Fatal(err)
			}
			ts := time.Unix(v.Timestamp, 0)
			if got := Sign(v.ID, ts, []byte(v.Payload), s); got != v.Signature {
				t.Fatalf("Sign = %s, want %s", got, v.Signature)
			}
			h := http.Header{}
			SetHeaders(h, v.ID, ts, []byte(v.Payload), s)
			if h.Get(HeaderSignature) != v.Signature || h.Get(HeaderTimestamp) != strconv.FormatInt(v.Timestamp, 10) || h.Get(HeaderID) != v.ID {
				t.Fatalf("SetHeaders: %v", h)
			}
			if err := Verify(h, []byte(v.Payload), ts.Add(time.Minute), 0, s); err != nil {
				t.Fatalf("Verify: %v", err)
			}
		})
	}
}

// TestVerify: rotation (several signatures, any one matching), tampering,
// wrong secrets, stale and future timestamps, missing headers, and
// signature schemes other than v1.
func TestVerify(t *testing.T) {
	old, cur, other := NewSecret(), NewSecret(), NewSecret()
	now := time.Unix(1_700_000_000, 0)
	body := []byte(`{"type":"card.frozen"}`)
	signed := func(ts time.Time, secrets ...Secret) http.Header {
		h := http.Header{}
		SetHeaders(h, "0190b0b4-7a8e-7c3d-8a1b-2c3d4e5f6a7b", ts, body, secrets...)
		return h
	}
	rotated := signed(now, cur, old)
	if n := len(strings.Fields(rotated.Get(HeaderSignature))); n != 2 {
		t.Fatalf("a rotation's header has %d signatures, want 2", n)
	}
	cases := []struct {
		name    string
		h       http.Header
		body    []byte
		secrets []Secret
		want    error
	}{
		{"current secret", signed(now, cur), body, []Secret{cur}, nil},
		{"rotation, receiver still on the old secret", rotated, body, []Secret{old}, nil},
		{"rotation, receiver on the new secret", rotated, body, []Secret{cur}, nil},
		{"wrong secret", rotated, body, []Secret{other}, ErrNoSignature},
		{"tampered body", signed(now, cur), []byte(`{"type":"card.unfrozen"}`), []Secret{cur}, ErrNoSignature},
		{"stale timestamp", signed(now.Add(-DefaultTolerance-time.Second), cur), body, []Secret{cur}, ErrTimestamp},
		{"future timestamp", signed(now.Add(DefaultTolerance+time.Second), cur), body, []Secret{cur}, ErrTimestamp},
		{"missing id", func() http.Header { h := signed(now, cur); h.Del(HeaderID); return h }(), body, []Secret{cur}, ErrMissingHeader},
		{"missing signature", func() http.Header { h := signed(now, cur); h.Del(HeaderSignature); return h }(), body, []Secret{cur}, ErrMissingHeader},
		{"v1a with the v1 value is not v1", func() http.Header {
			h := signed(now, cur)
			h.Set(HeaderSignature, "v1a,"+strings.TrimPrefix(h.Get(HeaderSignature), "v1,"))
			return h
		}(), body, []Secret{cur}, ErrNoSignature},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := Verify(tc.h, tc.body, now, 0, tc.secrets...)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("Verify = %v, want %v", err, tc.want)
			}
		})
	}
}

// TestSecretNeverPrints: fmt, slog and JSON see the secret redacted;
// Reveal round-trips through ParseSecret; bad secrets are refused.
func TestSecretNeverPrints(t *testing.T) {
	s := NewSecret()
	shown := s.Reveal()
	if !strings.HasPrefix(shown, SecretPrefix) || len(s) != SecretSize {
		t.Fatalf("Reveal = %q", shown)
	}
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("x", "secret", s)
	js, _ := json.Marshal(map[string]any{"secret": s})
	for _, out := range []string{fmt.Sprint(s), fmt.Sprintf("%v %+v %#v %s", s, s, s, s), logged.String(), string(js)} {
		if strings.Contains(out, strings.TrimPrefix(shown, SecretPrefix)) || !strings.Contains(out, redacted) {
			t.Errorf("a secret printed itself: %q", out)
		}
	}
	back, err := ParseSecret(shown)
	if err != nil || !bytes.Equal(back, s) {
		t.Fatalf("ParseSecret(Reveal()) = %v, %v", back, err)
	}
	for _, bad := range []string{"", "whsec_", "whsec_!!!", "whsec_" + strings.Repeat("A", 20), "whsec_" + strings.Repeat("A", 100)} {
		if _, err := ParseSecret(bad); !errors.Is(err, ErrSecretFormat) {
			t.Errorf("ParseSecret(%q) = %v, want ErrSecretFormat", bad, err)
		}
	}
}
