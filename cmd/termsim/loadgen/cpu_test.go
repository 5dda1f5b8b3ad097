package loadgen

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// writeStat writes a /proc/PID/{stat,comm} pair with the given
// utime, stime, cutime and cstime (in clock ticks).
func writeStat(t *testing.T, proc string, pid, comm string, times [4]int) {
	t.Helper()
	dir := filepath.Join(proc, pid)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// The command name holds a space and a ')' to check the parsing
	// starts after the last ')'.
	stat := pid + " (" + comm + " x) y) S 1 1 1 0 -1 4194560 100 0 0 0 " +
		itoa(times[0]) + " " + itoa(times[1]) + " " + itoa(times[2]) + " " + itoa(times[3]) + " 20 0 1 0 100 1000 10\n"
	if err := os.WriteFile(filepath.Join(dir, "stat"), []byte(stat), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "comm"), []byte(comm+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	line := comm + "\x00--flag\x00"
	if comm == "postgres" {
		line = "postgres: postgres db" + pid + " 127.0.0.1(5000) idle" // a backend's rewritten title
	}
	if err := os.WriteFile(filepath.Join(dir, "cmdline"), []byte(line), 0o644); err != nil {
		t.Fatal(err)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestProcCPUSumsGroups(t *testing.T) {
	proc := t.TempDir()
	writeStat(t, proc, "10", "cardhost", [4]int{100, 20, 0, 0})
	writeStat(t, proc, "20", "postgres", [4]int{5, 5, 300, 40})
	writeStat(t, proc, "21", "postgres", [4]int{50, 10, 0, 0})
	writeStat(t, proc, "30", "other", [4]int{999, 999, 0, 0})
	p := &ProcCPU{Proc: proc}
	for _, v := range []string{"cardhost=10", "postgresql=comm:postgres", "db21=cmdline:postgres db21 ", "flagged=cmdline:other --flag"} {
		if err := p.Set(v); err != nil {
			t.Fatalf("Set(%q): %v", v, err)
		}
	}
	got, err := p.CPUTime()
	if err != nil {
		t.Fatal(err)
	}
	if got["cardhost"] != 1200*time.Millisecond || got["postgresql"] != 4100*time.Millisecond || got["db21"] != 600*time.Millisecond ||
		got["flagged"] != 19980*time.Millisecond || len(got) != 4 {
		t.Fatalf("CPUTime = %v, want cardhost 1.2s, postgresql 4.1s, db21 0.6s, flagged 19.98s", got)
	}
	p = &ProcCPU{Proc: proc}
	for _, v := range []string{"cardhost=10", "postgresql=comm:postgres"} {
		if err := p.Set(v); err != nil {
			t.Fatalf("Set(%q): %v", v, err)
		}
	}

	w := &cpuWindow{meter: p}
	w.begin()
	writeStat(t, proc, "10", "cardhost", [4]int{150, 30, 0, 0}) // +60 ticks
	writeStat(t, proc, "21", "postgres", [4]int{60, 20, 0, 0})  // +20
	writeStat(t, proc, "22", "postgres", [4]int{10, 0, 0, 0})   // new: +10
	costs, err := w.costs(1000, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		name string
		us   float64
	}{{"cardhost", 600}, {"postgresql", 300}, {"total", 900}}
	if len(costs) != len(want) {
		t.Fatalf("costs = %+v", costs)
	}
	for i, w := range want {
		if costs[i].Name != w.name || costs[i].PerDecisionUS != w.us {
			t.Errorf("costs[%d] = %+v, want %s %.0f µs", i, costs[i], w.name, w.us)
		}
	}
	if costs[2].Decisions != 1000 || costs[0].Cores != 0.3 {
		t.Errorf("total decisions %d, cardhost cores %v; want 1000 and 0.3", costs[2].Decisions, costs[0].Cores)
	}

	// A watched process id that is gone is an error, not a zero.
	if err := os.RemoveAll(filepath.Join(proc, "10")); err != nil {
		t.Fatal(err)
	}
	if _, err := p.CPUTime(); err == nil {
		t.Fatal("CPUTime with the cardhost process gone: no error")
	}
}

func TestProcCPUSetRefusesMalformed(t *testing.T) {
	for _, v := range []string{"", "cardhost", "=10", "cardhost=", "cardhost=abc", "cardhost=-3", "cardhost=10,x",
		"pg=comm:", "pg=comm:a/b", "pg=comm:0123456789abcdef", "pg=cmdline:"} {
		p := &ProcCPU{}
		if err := p.Set(v); !errors.Is(err, ErrCPUWatch) {
			t.Errorf("Set(%q) = %v, want ErrCPUWatch", v, err)
		}
	}
	p := &ProcCPU{}
	if err := p.Set("a=1"); err != nil {
		t.Fatal(err)
	}
	if err := p.Set("a=2"); !errors.Is(err, ErrCPUWatch) {
		t.Errorf("a name given twice: %v, want ErrCPUWatch", err)
	}
	if p.String() != "a=1" || p.Empty() {
		t.Errorf("String() = %q, Empty() = %v", p.String(), p.Empty())
	}
}
