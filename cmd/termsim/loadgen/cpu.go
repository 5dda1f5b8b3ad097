package loadgen

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// CPUMeter reads the CPU time used so far by each of a set of named
// process groups (e.g. "cardhost" and "postgresql"). RunLoad reads it at
// the start and at the end of the measured window and reports the
// difference per answer (LoadReport.CPU).
type CPUMeter interface {
	CPUTime() (map[string]time.Duration, error)
}

// CPUCost is one process group's CPU time over a load run's measured
// window and its cost per answered request (a decision: authorizations,
// reversals and advices alike).
type CPUCost struct {
	Name          string        `json:"name"`                // the group (e.g. cardhost), or total
	CPU           time.Duration `json:"cpu_ns"`              // user + system time in the window
	PerDecisionUS float64       `json:"us_per_decision"`     // CPU / decisions, in µs
	Cores         float64       `json:"cores"`               // CPU / elapsed: cores kept busy
	Decisions     uint64        `json:"decisions,omitempty"` // answers in the window (on the last row)
}

// ProcCPU is a CPUMeter over Linux's /proc: each group is a set of
// process ids, every process whose command name (/proc/PID/comm) is a
// given one, or every process whose command line (/proc/PID/cmdline, which
// PostgreSQL backends rewrite to name their database) holds a given
// string. A process's time is utime + stime + cutime + cstime of
// /proc/PID/stat (the last two: its children that have ended and been
// waited for, so that PostgreSQL backends which exit during the run are
// still counted, through the postmaster that reaps them).
type ProcCPU struct {
	Proc   string // the proc file system (default /proc)
	groups []procGroup
}

type procGroup struct {
	name    string
	pids    []int
	comm    string
	cmdline string
}

// ErrCPUWatch: a --cpu value is malformed.
var ErrCPUWatch = errors.New("termsim: invalid --cpu")

// String implements flag.Value.
func (p *ProcCPU) String() string {
	if p == nil {
		return ""
	}
	var out []string
	for _, g := range p.groups {
		out = append(out, g.String())
	}
	return strings.Join(out, " ")
}

func (g procGroup) String() string {
	if g.comm != "" {
		return g.name + "=comm:" + g.comm
	}
	if g.cmdline != "" {
		return g.name + "=cmdline:" + g.cmdline
	}
	ids := make([]string, len(g.pids))
	for i, p := range g.pids {
		ids[i] = strconv.Itoa(p)
	}
	return g.name + "=" + strings.Join(ids, ",")
}

// Set implements flag.Value: NAME=PID[,PID...], NAME=comm:COMMAND or
// NAME=cmdline:STRING.
func (p *ProcCPU) Set(v string) error {
	name, spec, ok := strings.Cut(v, "=")
	if !ok || name == "" || spec == "" {
		return fmt.Errorf("%w: %q is not NAME=PID[,PID...], NAME=comm:COMMAND or NAME=cmdline:STRING", ErrCPUWatch, v)
	}
	for _, g := range p.groups {
		if g.name == name {
			return fmt.Errorf("%w: %q is given twice", ErrCPUWatch, name)
		}
	}
	g := procGroup{name: name}
	if c, ok := strings.CutPrefix(spec, "comm:"); ok {
		if c == "" || len(c) > 15 || strings.ContainsAny(c, "/\n") {
			return fmt.Errorf("%w: %q is not a command name (at most 15 characters, as in /proc/PID/comm)", ErrCPUWatch, c)
		}
		g.comm = c
	} else if c, ok := strings.CutPrefix(spec, "cmdline:"); ok {
		if c == "" {
			return fmt.Errorf("%w: cmdline: needs a string to look for", ErrCPUWatch)
		}
		g.cmdline = c
	} else {
		for _, s := range strings.Split(spec, ",") {
			id, err := strconv.Atoi(s)
			if err != nil || id <= 0 {
				return fmt.Errorf("%w: %q is not a process id", ErrCPUWatch, s)
			}
			g.pids = append(g.pids, id)
		}
	}
	p.groups = append(p.groups, g)
	return nil
}

// Empty reports whether no group was given.
func (p *ProcCPU) Empty() bool { return p == nil || len(p.groups) == 0 }

// clockTick is Linux's USER_HZ, the unit of /proc/PID/stat's times: 100
// on every architecture Linux exposes to user space.
const clockTick = 10 * time.Millisecond

// CPUTime implements CPUMeter. A process id that does not exist is an
// error (the process to measure is gone); a comm group may match none.
func (p *ProcCPU) CPUTime() (map[string]time.Duration, error) {
	proc := p.Proc
	if proc == "" {
		proc = "/proc"
	}
	out := make(map[string]time.Duration, len(p.groups))
	var procs []process
	for _, g := range p.groups {
		pids := g.pids
		if g.comm != "" || g.cmdline != "" {
			if procs == nil {
				var err error
				if procs, err = processes(proc); err != nil {
					return nil, err
				}
			}
			pids = nil
			for _, pr := range procs {
				if g.comm != "" && pr.comm == g.comm || g.cmdline != "" && strings.Contains(pr.cmdline, g.cmdline) {
					pids = append(pids, pr.pid)
				}
			}
		}
		var total time.Duration
		for _, id := range pids {
			t, err := processCPU(proc, id)
			if err != nil {
				if g.pids == nil && errors.Is(err, os.ErrNotExist) {
					continue // ended since the listing: its parent counts it
				}
				return nil, fmt.Errorf("reading the CPU time of %s process %d: %w", g.name, id, err)
			}
			total += t
		}
		out[g.name] = total
	}
	return out, nil
}

type process struct {
	pid           int
	comm, cmdline string
}

// processes lists the running processes with their command names and
// lines (arguments joined by spaces).
func processes(proc string) ([]process, error) {
	ents, err := os.ReadDir(proc)
	if err != nil {
		return nil, fmt.Errorf("listing processes: %w", err)
	}
	out := []process{}
	for _, e := range ents {
		id, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		comm, err := os.ReadFile(filepath.Join(proc, e.Name(), "comm"))
		if err != nil {
			continue // ended meanwhile
		}
		line, _ := os.ReadFile(filepath.Join(proc, e.Name(), "cmdline"))
		out = append(out, process{pid: id, comm: string(bytes.TrimSpace(comm)),
			cmdline: string(bytes.TrimSpace(bytes.ReplaceAll(line, []byte{0}, []byte{' '})))})
	}
	return out, nil
}

// processCPU reads utime + stime + cutime + cstime of /proc/PID/stat.
func processCPU(proc string, id int) (time.Duration, error) {
	b, err := os.ReadFile(filepath.Join(proc, strconv.Itoa(id), "stat"))
	if err != nil {
		return 0, err
	}
	// The command (field 2) is in parentheses and may hold spaces: the
	// fields after it start past the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("unreadable %s/%d/stat", proc, id)
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); utime..cstime are fields 14..17.
	if len(f) < 15 {
		return 0, fmt.Errorf("unreadable %s/%d/stat", proc, id)
	}
	var ticks int64
	for _, s := range f[11:15] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("unreadable %s/%d/stat", proc, id)
		}
		ticks += n
	}
	return time.Duration(ticks) * clockTick, nil
}

// cpuWindow holds a CPUMeter's reading at the start of the measured
// window.
type cpuWindow struct {
	meter CPUMeter
	start map[string]time.Duration
	err   error
}

func (w *cpuWindow) begin() {
	w.start, w.err = w.meter.CPUTime()
}

// costs returns each group's CPU since begin, per decision, and their
// total last.
func (w *cpuWindow) costs(decisions uint64, elapsed time.Duration) ([]CPUCost, error) {
	if w.err != nil {
		return nil, w.err
	}
	end, err := w.meter.CPUTime()
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(end))
	for n := range end {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []CPUCost
	var sum time.Duration
	for _, n := range names {
		d := max(end[n]-w.start[n], 0)
		sum += d
		out = append(out, cpuCost(n, d, decisions, elapsed))
	}
	if len(names) > 1 {
		out = append(out, cpuCost("total", sum, decisions, elapsed))
	}
	if len(out) > 0 {
		out[len(out)-1].Decisions = decisions
	}
	return out, nil
}

func cpuCost(name string, d time.Duration, decisions uint64, elapsed time.Duration) CPUCost {
	c := CPUCost{Name: name, CPU: d}
	if decisions > 0 {
		c.PerDecisionUS = float64(d.Microseconds()) / float64(decisions)
	}
	if elapsed > 0 {
		c.Cores = d.Seconds() / elapsed.Seconds()
	}
	return c
}
