package calc

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// Command is one calculator subcommand.
type Command struct {
	Name    string // as typed after the program name: "kcv", "arqc"
	Summary string // one line for the subcommand list
	// Run defines its flags on fs, parses args and returns the result
	// object, which Run prints as one JSON object. Errors are bad input.
	Run func(fs *flag.FlagSet, args []string) (any, error)
}

// Commands lists the subcommands in the order -h shows them.
var Commands = []Command{
	{"kcv", "key check value of a TDES or AES key", KCV},
	{"derive-icc-mk", "ICC master key from an issuer master key (EMV option A/B)", DeriveICCMK},
	{"session-key", "session key from an ICC master key (EMV CSK, Mastercard SKD, UnionPay SKD, Visa SM)", SessionKey},
	{"arqc", "generate the ARQC a card of a CVN would send", ARQC},
	{"verify-arqc", "verify an ARQC for a CVN", VerifyARQC},
	{"arpc", "ARPC and tag 91 for a CVN (or raw method 1/2 with --method)", ARPC},
	{"cvv", "CVV, iCVV or CVV2 (Visa algorithm, CVK pair); verify with --cvv", CVV},
	{"pvv", "Visa PIN verification value; verify with --pvv", PVV},
	{"pin-offset", "IBM 3624 PIN offset; verify with --offset", PINOffset},
	{"pinblock", "ISO 9564 PIN block: pinblock encode|decode|translate", PINBlock},
	{"mac", "ISO 9797-1 MAC algorithm 1 or 3 (retail MAC)", MAC},
	{"tlv", "BER-TLV: tlv decode --data <field 55 hex>", TLV},
	{"cvn", "show the CVN registry (all rows, or one with --scheme --cvn)", CVN},
}

// errHelp reports that -h was asked for and the usage was printed.
var errHelp = errors.New("help requested")

// Run runs `prog <subcommand> [flags]` (prog is how the command is
// invoked, e.g. "cardhost crypto") and returns the process exit code: 0 on
// success (including -h), 1 when the result cannot be encoded, 2 on bad
// input. The result goes to stdout as one JSON line; usage and errors go to
// stderr, errors on one line that never repeats an input value.
func Run(prog string, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintf(stderr, "%s: missing subcommand (try: %s -h)\n", prog, prog)
		return 2
	}
	name := args[0]
	if isHelp(name) || name == "help" {
		usage(prog, stderr)
		return 0
	}
	var cmd *Command
	for i := range Commands {
		if Commands[i].Name == name {
			cmd = &Commands[i]
		}
	}
	if cmd == nil {
		fmt.Fprintf(stderr, "%s: unknown subcommand %q (try: %s -h)\n", prog, name, prog)
		return 2
	}
	fs := flag.NewFlagSet(prog+" "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {} // parse errors are reported on one line below
	result, err := cmd.Run(fs, args[1:])
	switch {
	case errors.Is(err, errHelp) || errors.Is(err, flag.ErrHelp):
		fmt.Fprintf(stderr, "usage: %s [flags]\n\n%s.\n\nflags:\n", fs.Name(), cmd.Summary)
		fs.SetOutput(stderr)
		fs.PrintDefaults()
		return 0
	case err != nil:
		fmt.Fprintf(stderr, "%s: %v\n", fs.Name(), oneLine(err))
		return 2
	}
	out, err := json.Marshal(result)
	if err != nil {
		fmt.Fprintf(stderr, "%s: encoding result: %v\n", fs.Name(), err)
		return 1
	}
	fmt.Fprintf(stdout, "%s\n", out)
	return 0
}

func usage(prog string, w io.Writer) {
	fmt.Fprintf(w, "usage: %s <subcommand> [flags]   (%s <subcommand> -h for its flags)\n", prog, prog)
	fmt.Fprintln(w)
	for _, c := range Commands {
		fmt.Fprintf(w, "  %-14s %s\n", c.Name, c.Summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Output is one JSON object on stdout. Hex is accepted in either case and printed in upper case.")
}

// isHelp reports whether arg asks for help.
func isHelp(arg string) bool { return arg == "-h" || arg == "-help" || arg == "--help" }

// oneLine keeps an error message on one line.
func oneLine(err error) string {
	return strings.ReplaceAll(err.Error(), "\n", " ")
}

// parse parses the flags and rejects positional arguments.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return fmt.Errorf("%v (see -h)", err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (see -h)", fs.Arg(0))
	}
	return nil
}

// hasFlag reports whether args set the flag name (as -name, --name, with or
// without =value).
func hasFlag(args []string, name string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		a = strings.TrimLeft(a, "-")
		if a == name || strings.HasPrefix(a, name+"=") {
			return true
		}
	}
	return false
}
