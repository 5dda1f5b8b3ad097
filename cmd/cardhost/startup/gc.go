package startup

import "runtime/debug"

// DefaultGCPercent is the garbage collector's target (GOGC) cardhost
// serve runs with when GOGC is not set: its live heap is small (tens of
// megabytes beside the embedded broker's log), and at Go's default of 100
// the collector took about 15% of the host's CPU per decision under load
// (docs/PERFORMANCE.md); 400 lets the heap grow to five times the live
// data between collections. GOGC=100 (or GOMEMLIMIT) where memory is
// tighter than CPU (docs/operations.md).
const DefaultGCPercent = 400

// TuneGC sets the collector's target to DefaultGCPercent unless the
// operator set GOGC (which the runtime has already applied), and returns
// the target in force.
func TuneGC(getenv func(string) string) int {
	if getenv("GOGC") != "" {
		p := debug.SetGCPercent(-1)
		debug.SetGCPercent(p)
		return p
	}
	debug.SetGCPercent(DefaultGCPercent)
	return DefaultGCPercent
}
