package emv

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestPANNeverPrintsClear(t *testing.T) {
	const clear = "4111111111111111"
	p := PAN(clear)
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	log.Info("x", "pan", p)
	js, err := json.Marshal(struct{ P PAN }{p})
	if err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{
		"%v": fmt.Sprintf("%v", p), "%s": fmt.Sprintf("%s", p), "%#v": fmt.Sprintf("%#v", p),
		"slog": buf.String(), "json": string(js),
	} {
		if strings.Contains(out, clear) {
			t.Errorf("%s leaks the PAN: %s", name, out)
		}
		if !strings.Contains(out, "411111******1111") {
			t.Errorf("%s = %q, want the masked PAN", name, out)
		}
	}
	if p.Last4() != "1111" || p.Reveal() != clear {
		t.Fatalf("Last4/Reveal wrong")
	}
}

func TestMaskPAN(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""}, {"123", "***"}, {"12345678", "****5678"},
		{"5555444433332222111", "555544*********2111"},
	} {
		if got := MaskPAN(tc.in); got != tc.want {
			t.Errorf("MaskPAN(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestSensitiveRedacts(t *testing.T) {
	s := Sensitive("4111111111111111=29121011234567890")
	b := SecretBytes{1, 2, 3}
	for _, out := range []string{fmt.Sprint(s), fmt.Sprintf("%#v", s), fmt.Sprint(b), fmt.Sprintf("%v", []any{s, b})} {
		if out != "[redacted]" && out != "[[redacted] [redacted]]" {
			t.Errorf("formatted secret = %q", out)
		}
	}
	if _, err := json.Marshal(s); !errors.Is(err, ErrSecretJSON) {
		t.Errorf("json.Marshal(Sensitive) err = %v", err)
	}
	if _, err := json.Marshal(b); !errors.Is(err, ErrSecretJSON) {
		t.Errorf("json.Marshal(SecretBytes) err = %v", err)
	}
	b.Wipe()
	if !bytes.Equal(b, []byte{0, 0, 0}) {
		t.Errorf("Wipe left %v", []byte(b))
	}
}

// TestPINRedacts: the sandbox PIN is its own secret type; no digit of it
// shows in a format, a log or JSON (issue 12, point 10). Held as a PAN,
// as before, a 6-digit PIN printed its last four digits.
func TestPINRedacts(t *testing.T) {
	const clear = "864213"
	p := PIN(clear)
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "pin", p)
	for name, out := range map[string]string{
		"%v": fmt.Sprintf("%v", p), "%s": fmt.Sprintf("%s", p), "%#v": fmt.Sprintf("%#v", p),
		"struct": fmt.Sprintf("%+v", struct{ P PIN }{p}), "slog": buf.String(),
	} {
		if strings.Contains(out, "4213") || !strings.Contains(out, "[redacted]") {
			t.Errorf("%s = %q, want [redacted]", name, out)
		}
	}
	if _, err := json.Marshal(struct{ P PIN }{p}); !errors.Is(err, ErrSecretJSON) {
		t.Errorf("json.Marshal(PIN) err = %v", err)
	}
	var in struct {
		P PIN `json:"pin"`
	}
	if err := json.Unmarshal([]byte(`{"pin":"864213"}`), &in); err != nil || in.P.Reveal() != clear {
		t.Fatalf("decoding a PIN: %v", err)
	}
}
