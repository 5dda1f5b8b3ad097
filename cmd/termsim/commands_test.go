package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/cardhost/cardhost/cmd/termsim/terminal/terminaltest"
	"github.com/cardhost/cardhost/emv"
)

// testCardFile writes a Visa CVN 18 card file (keys derived from pyemv's
// example IMK) into dir and returns its path and PAN.
func testCardFile(t *testing.T, dir, name string) (string, string) {
	t.Helper()
	pan := "4761739001010010"
	imk, _ := emv.DecodeHex("0123456789ABCDEFFEDCBA9876543210")
	mk, err := emv.DeriveICCMasterKey(imk, pan, "01")
	if err != nil {
		t.Fatal(err)
	}
	data := fmt.Sprintf("pan: %q\nexpiry: \"3012\"\npsn: \"01\"\nnetwork: VISA\ncvn: 18\nicc_master_key_ac: %s\ncvv: \"123\"\nicvv: \"456\"\ncvv2: \"789\"\npin: \"1234\"\n",
		pan, emv.EncodeHex(mk))
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, pan
}

func runT(args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestAuthCommand(t *testing.T) {
	dir := t.TempDir()
	card, pan := testCardFile(t, dir, "visa18.yaml")
	bare := bareHost(t)
	t.Run("against a bare server", func(t *testing.T) {
		// A bare server approves without approval code or ARPC: the answer
		// breaks the host interface, so the command fails and says why.
		code, out, errOut := runT("auth", "--host", bare, "--card", card, "--amount", "1234", "--pin", "card", "--entry", "chip")
		if code != exitFail {
			t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
		}
		for _, want := range []string{"-> 0100 to " + bare, "<- 0110 in", "decision: approved, 00 (approved), ARPC absent",
			"problem: approval (00) without approval code (38)", "problem: no ARPC (tag 91)", emv.MaskPAN(pan), "[redacted]"} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
		if strings.Contains(out, pan) || strings.Contains(out, "=3012") {
			t.Errorf("output shows card data:\n%s", out)
		}
		// The ATC used is kept for the next run.
		st, err := os.ReadFile(card + ".state")
		if err != nil || !strings.Contains(string(st), `"atc": 1`) {
			t.Errorf("state file %q, %v", st, err)
		}
	})
	t.Run("host down", func(t *testing.T) {
		code, _, errOut := runT("auth", "--host", terminaltest.ClosedPort(t), "--card", card)
		if code != exitFail || !strings.Contains(errOut, "connection refused") {
			t.Fatalf("exit %d: %s", code, errOut)
		}
	})
	bad := []struct {
		name string
		args []string
		msg  string
	}{
		{"no card", []string{"auth", "--host", bare}, "give --card FILE or --perso FILE"},
		{"both", []string{"auth", "--card", card, "--perso", card}, "not both"},
		{"bad amount", []string{"auth", "--card", card, "--amount", "12.50"}, "--amount must be a non-negative whole number"},
		{"bad entry", []string{"auth", "--card", card, "--entry", "swipe"}, `--entry "swipe"`},
		{"bad processing code", []string{"auth", "--card", card, "--processing-code", "12"}, "--processing-code must be 6 digits"},
		{"bad zpk", []string{"auth", "--card", card, "--zpk", "ABCD"}, "--zpk must be 32 or 48 hex characters"},
		{"bad pin format", []string{"auth", "--card", card, "--pin-format", "4"}, "--pin-format must be 0, 1 or 3"},
		{"bad zak", []string{"auth", "--card", card, "--zak", "0123456789ABCDEF"}, "--zak must be 32 hex characters"},
		{"missing card file", []string{"auth", "--card", filepath.Join(dir, "nope.yaml")}, "no such file"},
		{"bad card file", []string{"auth", "--card", writeFile(t, dir, "bad.yaml", "pan: \"4761739001010010\"\nexpiry: \"3012\"\ncolour: red\n")}, "line 3: field colour not found"},
		{"bad perso export", []string{"auth", "--perso", writeFile(t, dir, "perso.json", "{}")}, "not a personalisation export"},
		{"long terminal id", []string{"auth", "--card", card, "--terminal", "TERMINAL99"}, "terminal id is at most 8 characters"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := runT(tc.args...)
			want := exitUsage
			if tc.name == "missing card file" {
				want = exitFail
			}
			if code != want || !strings.Contains(errOut, tc.msg) {
				t.Fatalf("exit %d (want %d), stderr %q lacks %q", code, want, errOut, tc.msg)
			}
		})
	}
}

func writeFile(t *testing.T, dir, name, data string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadCommand(t *testing.T) {
	dir := t.TempDir()
	testCardFile(t, dir, "a.yaml")
	bare := bareHost(t)
	t.Run("against a bare server: unexpected answers", func(t *testing.T) {
		jsonPath := filepath.Join(t.TempDir(), "report.json")
		code, out, errOut := runT("load", "--host", bare, "--card-dir", dir, "--duration", "300ms", "--connections", "1", "--inflight", "1", "--json", jsonPath, "--quiet")
		if code != exitFail {
			t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
		}
		for _, want := range []string{"host " + bare, "throughput", "p99.9", "approval (00) without approval code"} {
			if !strings.Contains(out, want) {
				t.Errorf("report lacks %q:\n%s", want, out)
			}
		}
		var rep struct {
			Answered   uint64 `json:"answered"`
			Unexpected uint64 `json:"unexpected"`
		}
		data, err := os.ReadFile(jsonPath)
		if err != nil || json.Unmarshal(data, &rep) != nil || rep.Answered == 0 || rep.Unexpected != rep.Answered {
			t.Errorf("JSON report %s (%v)", data, err)
		}
	})
	t.Run("baseline ratio", func(t *testing.T) {
		jsonPath := filepath.Join(t.TempDir(), "report.json")
		code, out, _ := runT("load", "--host", bare, "--card-dir", dir, "--duration", "200ms", "--baseline", "--json", jsonPath, "--quiet")
		if code != exitFail { // the "host" here is a bare server too: its answers are not the host's
			t.Fatalf("exit %d", code)
		}
		if !regexp.MustCompile(`host/bare throughput \d+\.\d\d \(\d+/s vs \d+/s\), p99 \S+ vs \S+`).MatchString(out) {
			t.Errorf("no ratio line:\n%s", out)
		}
		var b struct {
			Host            json.RawMessage `json:"host"`
			Bare            json.RawMessage `json:"bare"`
			ThroughputRatio float64         `json:"throughput_ratio"`
		}
		data, _ := os.ReadFile(jsonPath)
		if json.Unmarshal(data, &b) != nil || len(b.Host) == 0 || len(b.Bare) == 0 || b.ThroughputRatio <= 0 {
			t.Errorf("JSON %s", data)
		}
	})
	t.Run("host down", func(t *testing.T) {
		code, _, errOut := runT("load", "--host", terminaltest.ClosedPort(t), "--card-dir", dir, "--duration", "200ms", "--quiet")
		if code != exitFail || !strings.Contains(errOut, "connecting to") {
			t.Fatalf("exit %d: %s", code, errOut)
		}
	})
	bad := []struct {
		name string
		args []string
		msg  string
	}{
		{"no cards", []string{"load"}, "give --card-dir DIR or --api URL"},
		{"rate and max", []string{"load", "--card-dir", dir, "--rate", "10", "--max"}, "--rate or --max, not both"},
		{"zero connections", []string{"load", "--card-dir", dir, "--connections", "0"}, "--connections and --inflight must be 1 to 1000"},
		{"bad mix", []string{"load", "--card-dir", dir, "--mix", writeFile(t, t.TempDir(), "mix.yaml", "kinds:\n  - {name: a, weight: 1, expect: [\"77\"]}\n")}, `"77" is not a response code`},
		{"empty dir", []string{"load", "--card-dir", t.TempDir()}, "holds no card files"},
		{"mix needs a chip", []string{"load", "--card-dir", stripeDir(t)}, "has no chip"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := runT(append(tc.args, "--host", bare, "--duration", "100ms", "--quiet")...)
			if code != exitUsage || !strings.Contains(errOut, tc.msg) {
				t.Fatalf("exit %d, stderr %q lacks %q", code, errOut, tc.msg)
			}
		})
	}
}

func stripeDir(t *testing.T) string {
	d := t.TempDir()
	writeFile(t, d, "stripe.yaml", "pan: \"4761739001010010\"\nexpiry: \"3012\"\ncvv: \"123\"\n")
	return d
}

func TestReplayCommandChecks(t *testing.T) {
	dir := t.TempDir()
	t.Run("every scenario of testdata is valid", func(t *testing.T) {
		code, out, errOut := runT("replay", "--check", "../../testdata/scenarios")
		if code != exitOK || !strings.Contains(out, "scenario files are valid") {
			t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
		}
	})
	invalid := writeFile(t, dir, "invalid.yaml", "setup: {cards: {a: {}}}\nsteps:\n  - auth: {card: b}\n    expect: {code: \"77\"}\n")
	valid := writeFile(t, dir, "valid.yaml", "setup: {cards: {a: {}}}\nsteps:\n  - auth: {card: a}\n    expect: {code: \"00\"}\n")
	tests := []struct {
		name string
		args []string
		code int
		msg  []string
	}{
		{"invalid file: nothing sent", []string{"replay", "--host", terminaltest.ClosedPort(t), valid, invalid}, exitUsage,
			[]string{invalid + `:3:11: auth: card "b" is not defined`, invalid + `:4:13: expect: code "77"`, "1 of 2 scenario files are invalid; nothing was sent"}},
		{"needs the API", []string{"replay", valid}, exitUsage, []string{"give --api URL and --key KEY"}},
		{"no files", []string{"replay"}, exitUsage, []string{"give scenario files or folders"}},
		{"missing file", []string{"replay", filepath.Join(dir, "nope.yaml")}, exitUsage, []string{"no such file"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := runT(tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d: %s", code, tc.code, errOut)
			}
			for _, m := range tc.msg {
				if !strings.Contains(errOut, m) {
					t.Errorf("stderr lacks %q:\n%s", m, errOut)
				}
			}
		})
	}
}
