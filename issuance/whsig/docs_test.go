package whsig_test

import (
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cardhost/cardhost/issuance/whsig"
)

// docBlock returns the fenced code between <!-- name:begin --> and
// <!-- name:end --> in docs/webhooks.md.
func docBlock(t *testing.T, name string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "docs", "webhooks.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(raw), "<!-- "+name+":begin -->\n")
	block, _, ok2 := strings.Cut(rest, "<!-- "+name+":end -->")
	if !ok || !ok2 {
		t.Fatalf("docs/webhooks.md has no %s block", name)
	}
	lines := strings.Split(strings.TrimSpace(block), "\n")
	if len(lines) < 3 || !strings.HasPrefix(lines[0], "```") || lines[len(lines)-1] != "```" {
		t.Fatalf("the %s block is not one fenced code block", name)
	}
	return strings.Join(lines[1:len(lines)-1], "\n") + "\n"
}

// TestDocsShowTheGoReceiver: the Go receiver of docs/webhooks.md is the
// code Example_receiver runs.
func TestDocsShowTheGoReceiver(t *testing.T) {
	src, err := os.ReadFile("receiver_example_test.go")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, _ := strings.Cut(string(src), "// receiver:begin\n\n")
	code, _, ok := strings.Cut(rest, "\n// receiver:end")
	if !ok {
		t.Fatal("receiver_example_test.go has no receiver:begin/end markers")
	}
	if doc := docBlock(t, "receiver-go"); doc != code {
		t.Fatalf("docs/webhooks.md's Go receiver differs from receiver_example_test.go's:\n--- docs\n%s--- code\n%s", doc, code)
	}
}

// shell runs a docs block with bash in dir with env; it skips when a tool
// the block uses is missing.
func shell(t *testing.T, block, dir string, env ...string) (string, error) {
	t.Helper()
	for _, tool := range []string{"bash", "openssl", "base64", "od", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	cmd := exec.Command("bash", "-c", block)
	cmd.Dir, cmd.Env = dir, append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// TestDocsVerifyWithOpenSSL runs the openssl block of docs/webhooks.md on
// deliveries signed by whsig: a rotation's two signatures verify with
// either secret; a changed body, another secret or a stale timestamp fail.
func TestDocsVerifyWithOpenSSL(t *testing.T) {
	block := docBlock(t, "verify-sh")
	oldSecret, cur, other := whsig.NewSecret(), whsig.NewSecret(), whsig.NewSecret()
	id := "019cebab-9935-758f-a620-1e9ed4314ca0"
	body := []byte(`{"specversion":"1.0","id":"` + id + `","type":"card.frozen","data":{"id":"crd_01","name":"A & B \"quoted\"\n"}}`)
	run := func(secret whsig.Secret, got []byte, ts time.Time) (string, error) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "body.json"), got, 0o600); err != nil {
			t.Fatal(err)
		}
		return shell(t, block, dir, "SECRET="+secret.Reveal(), "ID="+id, "TS="+strconv.FormatInt(ts.Unix(), 10),
			"SIG="+whsig.Sign(id, ts, body, cur, oldSecret))
	}
	now := time.Now()
	for name, s := range map[string]whsig.Secret{"new secret": cur, "old secret": oldSecret} {
		if out, err := run(s, body, now); err != nil || out != "valid" {
			t.Errorf("%s: %q, %v; want valid", name, out, err)
		}
	}
	for name, tc := range map[string]struct {
		secret whsig.Secret
		body   []byte
		ts     time.Time
	}{
		"changed body":    {cur, append(append([]byte{}, body...), ' '), now},
		"another secret":  {other, body, now},
		"stale timestamp": {cur, body, now.Add(-10 * time.Minute)},
	} {
		if out, err := run(tc.secret, tc.body, tc.ts); err == nil || out == "valid" {
			t.Errorf("%s: %q, %v; want a failure", name, out, err)
		}
	}
}

// TestDocsSendWithCurl runs the curl block of docs/webhooks.md against the
// docs' Go receiver: 204 with its secret, 400 with another.
func TestDocsSendWithCurl(t *testing.T) {
	block := docBlock(t, "send-sh")
	secret := whsig.NewSecret().Reveal()
	var got []string
	srv := httptest.NewServer(webhookHandler(secret, func(id string, _ []byte) error { got = append(got, id); return nil }))
	defer srv.Close()
	if out, err := shell(t, block, t.TempDir(), "SECRET="+secret, "RECEIVER="+srv.URL); err != nil || out != "204" || len(got) != 1 {
		t.Fatalf("curl to the Go receiver: %q, %v (handled %v); want 204", out, err, got)
	}
	if out, err := shell(t, block, t.TempDir(), "SECRET="+whsig.NewSecret().Reveal(), "RECEIVER="+srv.URL); err != nil || out != "400" {
		t.Fatalf("curl signed with another secret: %q, %v; want 400", out, err)
	}
}
