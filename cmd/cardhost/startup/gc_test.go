package startup

import (
	"runtime/debug"
	"testing"
)

func TestTuneGC(t *testing.T) {
	before := debug.SetGCPercent(100)
	defer debug.SetGCPercent(before)
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	if got := TuneGC(getenv); got != DefaultGCPercent {
		t.Fatalf("TuneGC without GOGC = %d, want %d", got, DefaultGCPercent)
	}
	if p := debug.SetGCPercent(100); p != DefaultGCPercent {
		t.Fatalf("collector target %d after TuneGC, want %d", p, DefaultGCPercent)
	}
	env["GOGC"] = "150" // the runtime read it at start; here, as if it had
	debug.SetGCPercent(150)
	if got := TuneGC(getenv); got != 150 {
		t.Fatalf("TuneGC with GOGC set = %d, want the operator's 150", got)
	}
	if p := debug.SetGCPercent(100); p != 150 {
		t.Fatalf("collector target %d after TuneGC with GOGC set, want 150", p)
	}
}
