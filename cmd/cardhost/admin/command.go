package admin

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

// subcommand splits `cardhost NAME SUB args...` and makes SUB's flag set.
// It returns code -1 to go on; otherwise the command ends with that code:
// 0 after -h (usage printed), 2 without arguments (usage printed) or for a
// SUB that is not one of known (when known are given).
func subcommand(name, usage string, args []string, stderr io.Writer, known ...string) (sub string, rest []string, fs *flag.FlagSet, code int) {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stderr, usage)
		if len(args) == 0 {
			return "", nil, nil, 2
		}
		return "", nil, nil, 0
	}
	sub = args[0]
	if len(known) > 0 && !slices.Contains(known, sub) {
		fmt.Fprintf(stderr, "cardhost %s: unknown subcommand %q\n%s", name, sub, usage)
		return "", nil, nil, 2
	}
	fs = flag.NewFlagSet("cardhost "+name+" "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return sub, args[1:], fs, -1
}

// command reads `cardhost NAME SUB [flags]`: subcommand, then SUB's flags,
// read with the configuration by parse. define defines every flag of the
// command; subs names the subcommands (its keys) and the flags each takes,
// so that SUB's flag set, and so its -h, holds its own flags only (a
// sibling's flag is refused as undefined; a flag SUB does not take keeps
// its default). An entry "name=text" gives the flag SUB's own help text.
// It returns code -1 to go on; otherwise the command ends with that code.
func command(name, usage string, subs map[string][]string, args []string, load Load, stderr io.Writer, define func(fs *flag.FlagSet)) (sub string, env Env, fs *flag.FlagSet, code int) {
	sub, args, fs, code = subcommand(name, usage, args, stderr, slices.Sorted(maps.Keys(subs))...)
	if code >= 0 {
		return sub, env, fs, code
	}
	all := flag.NewFlagSet(fs.Name(), flag.ContinueOnError)
	define(all)
	for _, entry := range subs[sub] {
		n, text, own := strings.Cut(entry, "=")
		f := all.Lookup(n)
		if f == nil {
			panic("admin: cardhost " + name + " " + sub + " takes --" + n + ", which is not defined")
		}
		if !own {
			text = f.Usage
		}
		fs.Var(f.Value, f.Name, text)
	}
	env, code = parse(load, fs, args, stderr)
	return sub, env, fs, code
}

// parse reads the configuration and the command's flags from args. It
// returns code -1 to go on; otherwise the command ends with that code: 0
// after -h, 2 on bad input (printed as badInput does).
func parse(load Load, fs *flag.FlagSet, args []string, stderr io.Writer) (Env, int) {
	env, err := load(fs, args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return env, 0
	case err != nil:
		return env, badInput(fs, stderr)("%v", err)
	}
	return env, -1
}

// badInput returns a function that prints `cardhost NAME SUB: message` (the
// flag set's name) to stderr and returns exit code 2.
func badInput(fs *flag.FlagSet, stderr io.Writer) func(format string, a ...any) int {
	return func(format string, a ...any) int {
		fmt.Fprintf(stderr, "%s: %s\n", fs.Name(), fmt.Sprintf(format, a...))
		return 2
	}
}
