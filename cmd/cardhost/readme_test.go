package main

import (
	"bytes"
	"flag"
	"os"
	"strings"
	"testing"
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

// TestREADMERunCommand: the run block is the documented one-command start.
func TestREADMERunCommand(t *testing.T) {
	block, _, _, _ := readmeBlock(t, "run")
	if cmds := shellCommands(block); len(cmds) != 1 || cmds[0] != "go run ./cmd/cardhost" {
		t.Fatalf("README's run block = %q", cmds)
	}
}
