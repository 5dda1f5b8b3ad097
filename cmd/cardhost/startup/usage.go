package startup

import (
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// TypedValue is a flag.Value that names its type for help texts ("int",
// "duration", "host:port"...); an empty type marks a boolean flag.
type TypedValue interface {
	flag.Value
	Type() string
}

// PrintFlags writes fs's flags that keep selects (nil: all), sorted by
// name, each with its type and default, as tools people know do:
//
//	--limit int
//	      stop after this many events (0: until interrupted)
func PrintFlags(w io.Writer, fs *flag.FlagSet, keep func(*flag.Flag) bool) {
	fs.VisitAll(func(f *flag.Flag) {
		if keep != nil && !keep(f) {
			return
		}
		typ, usage := flag.UnquoteUsage(f)
		if tv, ok := f.Value.(TypedValue); ok {
			typ = tv.Type()
		}
		line := "  --" + f.Name
		if typ != "" {
			line += " " + typ
		}
		switch f.DefValue {
		case "", "0", "false", "[]":
		default:
			usage += " (default " + f.DefValue + ")"
		}
		fmt.Fprintf(w, "%s\n      %s\n", line, strings.ReplaceAll(usage, "\n", "\n      "))
	})
}

// SettingValue is a setting's flag: the text the setting's parser reads,
// with a type for help texts; a boolean setting is a boolean flag (--x
// means true).
type SettingValue struct {
	p   *string
	typ string
}

// NewSettingValue returns the flag of the setting with this flag name and
// default, writing to p.
func NewSettingValue(p *string, name, def string) SettingValue {
	return SettingValue{p: p, typ: settingType(name, def)}
}

// String implements flag.Value.
func (v SettingValue) String() string {
	if v.p == nil {
		return ""
	}
	return *v.p
}

// Set implements flag.Value.
func (v SettingValue) Set(s string) error { *v.p = s; return nil }

// IsBoolFlag makes a boolean setting a flag without a value.
func (v SettingValue) IsBoolFlag() bool { return v.typ == "" }

// Type implements TypedValue.
func (v SettingValue) Type() string { return v.typ }

// settingTypes names the types that the default cannot show.
var settingTypes = map[string]string{"mode": "sandbox|production", "log-format": "text|json", "log-level": "debug|info|warn|error",
	"kafka-brokers": "host:port,...", "http-trusted-proxies": "addr-or-cidr,...", "master-key": "hex", "database-url": "url"}

// settingType is a setting's type for help texts, from its default or the
// last word of its name ("" for booleans, as the flag package shows them).
func settingType(name, def string) string {
	if t, ok := settingTypes[name]; ok {
		return t
	}
	if _, err := strconv.ParseBool(def); err == nil && def != "0" && def != "1" {
		return ""
	}
	if _, err := strconv.Atoi(def); err == nil {
		return "int"
	}
	if _, err := time.ParseDuration(def); err == nil {
		return "duration"
	}
	switch name[strings.LastIndex(name, "-")+1:] {
	case "addr":
		return "host:port"
	case "dir":
		return "dir"
	case "cert", "key", "ca", "file":
		return "path"
	}
	return "string"
}

// usageSettings are the settings a command's -h shows beside its own
// flags, by flag set name: nil shows every setting (serve); a command not
// listed shows none.
var usageSettings = map[string][]string{"cardhost serve": nil, "cardhost migrate": {"database-url", "db-timeout", "log-level", "log-format"}}

// Usage is the -h of a command, by its flag set's name. For serve it shows
// every flag, the settings among them. Otherwise it shows the command's
// own flags (those that are not settings) and the settings it reads
// (migrate's database and log settings), then a line saying that it
// accepts the server's other settings too.
func Usage(fs *flag.FlagSet) {
	w := fs.Output()
	settings, ok := usageSettings[fs.Name()]
	if ok && settings == nil {
		fmt.Fprintf(w, "usage: %s [flags]\n\nEvery flag is also an environment variable (flags win); `cardhost config` prints them as a table.\n\nflags:\n", fs.Name())
		PrintFlags(w, fs, nil)
		return
	}
	shown := func(f *flag.Flag) bool {
		_, setting := f.Value.(SettingValue)
		return !setting || slices.Contains(settings, f.Name)
	}
	n := 0
	fs.VisitAll(func(f *flag.Flag) {
		if shown(f) {
			n++
		}
	})
	if n == 0 {
		fmt.Fprintf(w, "usage: %s\n\nIt takes no flags of its own.\n", fs.Name())
	} else {
		fmt.Fprintf(w, "usage: %s [flags]\n\nflags:\n", fs.Name())
		PrintFlags(w, fs, shown)
	}
	other := ""
	if len(settings) > 0 {
		other = "other "
	}
	fmt.Fprintln(w, "\nIt reads the server's "+other+"settings too (DATABASE_URL, CARDHOST_MASTER_KEY_FILE, KAFKA_BROKERS...), from the environment or as flags: `cardhost serve -h` and `cardhost config` list them.")
}
