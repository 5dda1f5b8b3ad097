package calc

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/emv/tlv"
)

// runT runs `cardhost crypto args...` and returns the exit code, the
// decoded stdout object (nil when stdout is empty) and stderr.
func runT(t *testing.T, args ...string) (int, map[string]any, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Run("cardhost crypto", args, &stdout, &stderr)
	var out map[string]any
	if stdout.Len() > 0 {
		if strings.Count(strings.TrimSpace(stdout.String()), "\n") != 0 {
			t.Fatalf("stdout is not one line: %q", stdout.String())
		}
		if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
			t.Fatalf("stdout is not one JSON object: %v: %q", err, stdout.String())
		}
	}
	return code, out, stderr.String()
}

// mustRun runs a command that must succeed and returns its output.
func mustRun(t *testing.T, args ...string) map[string]any {
	t.Helper()
	code, out, stderr := runT(t, args...)
	if code != 0 || out == nil {
		t.Fatalf("cardhost crypto %s: exit %d, stderr %q", strings.Join(args, " "), code, stderr)
	}
	return out
}

// loadVectors reads ../../testdata/vectors/<name> into v (the
// "vectors" array of the file).
func loadVectors(t *testing.T, name string, v any) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "testdata", "vectors", name))
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Vectors json.RawMessage `json:"vectors"`
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(f.Vectors, v); err != nil {
		t.Fatal(err)
	}
}

func str(out map[string]any, k string) string {
	s, _ := out[k].(string)
	return s
}

// field55 encodes tags as BER-TLV hex, in tag order.
func field55(t *testing.T, tags map[string]string) string {
	t.Helper()
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var l tlv.List
	for _, k := range keys {
		tag, err := tlv.ParseTag(k)
		if err != nil {
			t.Fatal(err)
		}
		v, err := emv.DecodeHex(tags[k])
		if err != nil {
			t.Fatal(err)
		}
		l = append(l, tlv.New(tag, v))
	}
	b, err := l.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return emv.EncodeHex(b)
}

// TestBadInput checks that every kind of bad input exits 2 with one
// line on stderr, nothing on stdout, and no input value in the message.
func TestBadInput(t *testing.T) {
	const secretKey = "0123456789ABCDEFFEDCBA987654321"
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"no subcommand", nil},
		{"unknown subcommand", []string{"decrypt"}},
		{"unknown flag", []string{"kcv", "--key", "00", "--bogus"}},
		{"missing key", []string{"kcv"}},
		{"odd hex", []string{"kcv", "--key", secretKey}},
		{"non-hex", []string{"kcv", "--key", secretKey + "Z"}},
		{"wrong key length", []string{"derive-icc-mk", "--imk", "0123456789ABCDEF", "--pan", "4111111111111111"}},
		{"bad PAN", []string{"derive-icc-mk", "--imk", secretKey + "0", "--pan", "41111111111111X1"}},
		{"unknown CVN", []string{"arqc", "--scheme", "visa", "--cvn", "99", "--key", secretKey + "0"}},
		{"missing chip data", []string{"arqc", "--scheme", "visa", "--cvn", "18", "--key", secretKey + "0"}},
		{"cvv missing service code", []string{"cvv", "--cvk", secretKey + "0", "--pan", "4111111111111111", "--expiry", "2512"}},
		{"pinblock without operation", []string{"pinblock"}},
		{"pinblock bad format", []string{"pinblock", "encode", "--format", "2", "--pin", "1234", "--pan", "4111111111111111"}},
		{"tlv truncated", []string{"tlv", "decode", "--data", "9F3602"}},
		{"positional argument", []string{"pvv", "extra"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, stderr := runT(t, tc.args...)
			if code != 2 {
				t.Errorf("exit = %d, want 2", code)
			}
			if out != nil {
				t.Errorf("stdout = %v, want nothing", out)
			}
			if strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "cardhost crypto") {
				t.Errorf("stderr = %q, want one line starting 'cardhost crypto'", stderr)
			}
			for _, secret := range []string{"0123456789ABCDEF", "4111111111111111", "41111111111111X1"} {
				if strings.Contains(stderr, secret) {
					t.Errorf("stderr %q contains an input value", stderr)
				}
			}
		})
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"kcv", "-h"}, {"arqc", "-h"}, {"pinblock", "encode", "-h"}, {"tlv", "-h"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			code, out, stderr := runT(t, args...)
			if code != 0 || out != nil || !strings.Contains(stderr, "usage: cardhost crypto") {
				t.Errorf("exit %d, stdout %v, stderr %q", code, out, stderr)
			}
		})
	}
	// Every subcommand documents its flags.
	for _, c := range Commands {
		code, _, stderr := runT(t, c.Name, "-h")
		if code != 0 || !strings.Contains(stderr, "-") {
			t.Errorf("%s -h: exit %d, stderr %q", c.Name, code, stderr)
		}
	}
}
