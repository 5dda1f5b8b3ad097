package calc

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/cardhost/cardhost/emv"
)

// hexArg decodes a required hex flag value; want lists the accepted byte
// lengths (none: any). Errors name the flag, never the value.
func hexArg(name, value string, want ...int) ([]byte, error) {
	if value == "" {
		return nil, fmt.Errorf("missing --%s", name)
	}
	return optHexArg(name, value, want...)
}

// optHexArg is hexArg for an optional flag: "" gives nil.
func optHexArg(name, value string, want ...int) ([]byte, error) {
	if value == "" {
		return nil, nil
	}
	b, err := emv.DecodeHex(strings.ReplaceAll(value, " ", ""))
	if err != nil {
		return nil, fmt.Errorf("--%s: %w", name, err)
	}
	if len(want) > 0 {
		for _, n := range want {
			if len(b) == n {
				return b, nil
			}
		}
		ns := make([]string, len(want))
		for i, n := range want {
			ns[i] = strconv.Itoa(n)
		}
		return nil, fmt.Errorf("--%s must be %s bytes (%d given)", name, strings.Join(ns, " or "), len(b))
	}
	return b, nil
}

// required rejects an empty string flag.
func required(name, value string) error {
	if value == "" {
		return fmt.Errorf("missing --%s", name)
	}
	return nil
}

// schemeHelp is the help text of --scheme: the registry's schemes, "visa,
// mastercard or unionpay".
var schemeHelp = func() string {
	var names []string
	for _, n := range emv.Networks() {
		names = append(names, string(n.Scheme()))
	}
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}()
