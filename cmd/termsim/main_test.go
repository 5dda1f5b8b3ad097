package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"regexp"
	"strings"
	"testing"

	"github.com/cardhost/cardhost/cmd/termsim/loadgen"
	"github.com/cardhost/cardhost/cmd/termsim/terminal/terminaltest"
)

// bareHost serves a loadgen.BareServer on 127.0.0.1:0 for the test.
func bareHost(t *testing.T) string {
	t.Helper()
	s, err := loadgen.StartBareServer("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s.Addr().String()
}

// silentHost accepts connections and never answers.
func silentHost(t *testing.T) string {
	return terminaltest.Serve(t, func(nc net.Conn) { io.Copy(io.Discard, nc) })
}

func TestRun(t *testing.T) {
	bare := bareHost(t)
	tests := []struct {
		name       string
		args       []string
		code       int
		stdout     *regexp.Regexp // nil: not checked
		stderrHas  string
		stdoutRows int // lines expected on stdout (0: not checked)
	}{
		{
			name:       "three echoes",
			args:       []string{"echo", "--host", bare, "-n", "3"},
			code:       exitOK,
			stdout:     regexp.MustCompile(`(?s)^echo 1: 0810 00 from 127\.0\.0\.1:\d+ in \S+\necho 2: .*echo 3: .*\n3 sent, 3 answered, round trip min/avg/max \S+/\S+/\S+\n$`),
			stdoutRows: 4,
		},
		{name: "default one echo", args: []string{"echo", "-host", bare}, code: exitOK, stdoutRows: 2},
		{name: "closed port", args: []string{"echo", "--host", terminaltest.ClosedPort(t)}, code: exitFail, stderrHas: "connection refused"},
		{
			name:      "host does not answer",
			args:      []string{"echo", "--host", silentHost(t), "-n", "2", "--timeout", "100ms"},
			code:      exitFail,
			stdout:    regexp.MustCompile(`(?m)^2 sent, 0 answered$`),
			stderrHas: "no answer in time",
		},
		{name: "no command", args: nil, code: exitUsage, stderrHas: "usage: termsim"},
		{name: "unknown command", args: []string{"fly"}, code: exitUsage, stderrHas: `unknown command "fly"`},
		{name: "help", args: []string{"help"}, code: exitOK, stdout: regexp.MustCompile(`echo\s+send 0800 echo tests`)},
		{name: "unknown flag", args: []string{"echo", "--bogus"}, code: exitUsage, stderrHas: "flag provided but not defined"},
		{name: "zero count", args: []string{"echo", "-n", "0"}, code: exitUsage, stderrHas: "-n must be at least 1"},
		{name: "bad duration", args: []string{"echo", "--timeout", "soon"}, code: exitUsage, stderrHas: "invalid value"},
		{name: "negative timeout", args: []string{"echo", "--timeout", "-1s"}, code: exitUsage, stderrHas: "--timeout must be positive"},
		{name: "extra argument", args: []string{"echo", "now"}, code: exitUsage, stderrHas: `unexpected argument "now"`},
		{name: "echo help", args: []string{"echo", "-h"}, code: exitOK, stderrHas: "usage: termsim echo"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tc.args, &stdout, &stderr)
			if code != tc.code {
				t.Errorf("exit code %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, stdout.String(), stderr.String())
			}
			if tc.stdout != nil && !tc.stdout.MatchString(stdout.String()) {
				t.Errorf("stdout %q does not match %s", stdout.String(), tc.stdout)
			}
			if tc.stdoutRows > 0 && strings.Count(stdout.String(), "\n") != tc.stdoutRows {
				t.Errorf("stdout has %d lines, want %d: %q", strings.Count(stdout.String(), "\n"), tc.stdoutRows, stdout.String())
			}
			if !strings.Contains(stderr.String(), tc.stderrHas) {
				t.Errorf("stderr %q does not contain %q", stderr.String(), tc.stderrHas)
			}
		})
	}
}

func TestRunCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var stdout, stderr bytes.Buffer
	if code := run(ctx, []string{"echo", "--host", bareHost(t)}, &stdout, &stderr); code != exitFail {
		t.Fatalf("exit code %d with a canceled context, want %d (stderr %q)", code, exitFail, stderr.String())
	}
}
