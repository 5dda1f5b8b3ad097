package main

import (
	"bytes"
	"flag"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

var updateREADME = flag.Bool("update-readme", false, "rewrite README.md's configuration table from the settings table")

// readmeBlock returns the text between <!-- NAME:begin --> and
// <!-- NAME:end --> in README.md, and the README itself.
func readmeBlock(t *testing.T, name string) (block string, readme []byte, start, end int) {
	t.Helper()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	b, e := "<!-- "+name+":begin -->\n", "<!-- "+name+":end -->"
	start = bytes.Index(readme, []byte(b))
	end = bytes.Index(readme, []byte(e))
	if start < 0 || end < start {
		t.Fatalf("README.md has no %s block", name)
	}
	start += len(b)
	return string(readme[start:end]), readme, start, end
}

// shellCommands returns the commands of the ```sh fence in a block.
func shellCommands(block string) []string {
	var out []string
	in := false
	for _, line := range strings.Split(block, "\n") {
		switch {
		case strings.HasPrefix(line, "```sh"):
			in = true
		case strings.HasPrefix(line, "```"):
			in = false
		case in && strings.TrimSpace(line) != "":
			out = append(out, line)
		}
	}
	return out
}

// TestREADMEConfigTable keeps README's configuration table equal to the
// settings table (go test ./cmd/cardhost -run READMEConfig -update-readme).
func TestREADMEConfigTable(t *testing.T) {
	got, readme, start, end := readmeBlock(t, "config")
	var want bytes.Buffer
	writeConfigTable(&want)
	if got == want.String() {
		return
	}
	if *updateREADME {
		out := append(append(append([]byte{}, readme[:start]...), want.Bytes()...), readme[end:]...)
		if err := os.WriteFile("../../README.md", out, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatalf("README.md's configuration table is out of date; run: go test ./cmd/cardhost -run READMEConfig -update-readme")
}

// TestCIRunsTheREADMETestCommand: .ci/run must run exactly the command
// README gives for running every test.
func TestCIRunsTheREADMETestCommand(t *testing.T) {
	block, _, _, _ := readmeBlock(t, "test")
	cmds := shellCommands(block)
	if len(cmds) != 1 {
		t.Fatalf("README's test block has %d commands, want 1", len(cmds))
	}
	ci, err := os.ReadFile("../../.ci/run")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(ci), "\n") {
		if strings.TrimSpace(line) == cmds[0] {
			return
		}
	}
	t.Fatalf(".ci/run does not run README's test command %q on a line of its own", cmds[0])
}

// TestREADMERunCommand runs README's run block as written (`go run
// ./cmd/cardhost serve`, one command) on free ports against a fresh
// database: it becomes ready, prints the sandbox API key and stops
// cleanly on Ctrl-C (SIGINT to its process group: cardhost, not go run,
// decides the outcome).
func TestREADMERunCommand(t *testing.T) {
	block, _, _, _ := readmeBlock(t, "run")
	cmds := shellCommands(block)
	if len(cmds) != 1 || !strings.HasPrefix(cmds[0], "go run ./cmd/cardhost serve") {
		t.Fatalf("README's run block = %q, want the one command go run ./cmd/cardhost serve", cmds)
	}
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	env := testEnv(t)
	for _, k := range []string{"CARDHOST_HTTP_ADDR", "CARDHOST_ISO_ADDR", "CARDHOST_EMBEDDED_KAFKA_ADDR"} {
		env[k] = closedAddr(t)
	}
	cmd := exec.Command("bash", "-c", cmds[0])
	cmd.Dir = "../.."
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	stdout, stderr := fileOutput(t, "stdout"), fileOutput(t, "stderr")
	cmd.Stdout, cmd.Stderr = stdout.f, stderr.f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		select {
		case <-exited:
		default:
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	}()
	hc := &http.Client{Timeout: time.Second}
	for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(100 * time.Millisecond) {
		if resp, err := hc.Get("http://" + env["CARDHOST_HTTP_ADDR"] + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("%s exited before it was ready: %v\n%s", cmds[0], err, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready after 3 minutes:\n%s", cmds[0], stderr.String())
		}
	}
	if !apiKeyRE.MatchString(stdout.String()) {
		t.Errorf("the first start printed no sandbox API key:\n%s", stdout.String())
	}
	syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
	select {
	case err := <-exited:
		exited <- err
		// go run itself exits 1 after an interrupt whatever its program
		// does; it prints "exit status N" when the program failed.
		if logs := stderr.String(); strings.Contains(logs, "exit status") || strings.Contains(logs, "level=ERROR") {
			t.Fatalf("after Ctrl-C: %v\n%s", err, logs)
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("still running 60 s after Ctrl-C")
	}
}

// output is a child process's output in a file, read while it runs.
type output struct{ f *os.File }

func fileOutput(t *testing.T, name string) output {
	f, err := os.Create(filepath.Join(t.TempDir(), name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return output{f}
}

func (o output) String() string { b, _ := os.ReadFile(o.f.Name()); return string(b) }
