package calc

import (
	"flag"
	"fmt"
	"strings"

	"github.com/cardhost/cardhost/emv"
)

// cvkArg returns the CVK pair from --cvk (32 hex) or --cvk-a and --cvk-b.
func cvkArg(cvk, a, b string) ([]byte, error) {
	if cvk != "" {
		if a != "" || b != "" {
			return nil, fmt.Errorf("give --cvk or --cvk-a with --cvk-b, not both")
		}
		return hexArg("cvk", cvk, 16)
	}
	ka, err := hexArg("cvk-a", a, 8)
	if err != nil {
		return nil, err
	}
	kb, err := hexArg("cvk-b", b, 8)
	if err != nil {
		return nil, err
	}
	return append(ka, kb...), nil
}

// CVV is `cvv`: a CVV, iCVV or CVV2 from a CVK pair, or with --cvv whether
// a value matches.
func CVV(fs *flag.FlagSet, args []string) (any, error) {
	cvkA := fs.String("cvk-a", "", "CVK A, 8 bytes hex")
	cvkB := fs.String("cvk-b", "", "CVK B, 8 bytes hex")
	cvk := fs.String("cvk", "", "CVK pair A||B, 16 bytes hex (instead of --cvk-a/--cvk-b)")
	pan := fs.String("pan", "", "PAN")
	expiry := fs.String("expiry", "", "expiry as encoded on the card: YYMM")
	sc := fs.String("service-code", "", "service code, 3 digits (cvv only)")
	typ := fs.String("type", "cvv", "cvv (track service code), icvv (service code 999) or cvv2 (service code 000)")
	verify := fs.String("cvv", "", "a value to verify instead of printing the computed one")
	if err := parse(fs, args); err != nil {
		return nil, err
	}
	k, err := cvkArg(*cvk, *cvkA, *cvkB)
	if err != nil {
		return nil, err
	}
	if err := required("pan", *pan); err != nil {
		return nil, err
	}
	if err := required("expiry", *expiry); err != nil {
		return nil, err
	}
	code := *sc
	switch strings.ToLower(*typ) {
	case "cvv":
		if err := required("service-code", code); err != nil {
			return nil, err
		}
	case "icvv":
		code = emv.ServiceCodeICVV
	case "cvv2":
		code = emv.ServiceCodeCVV2
	default:
		return nil, fmt.Errorf("--type must be cvv, icvv or cvv2")
	}
	if *verify != "" {
		ok, err := emv.VerifyCVV(k, *pan, *expiry, code, *verify)
		if err != nil {
			return nil, err
		}
		return obj{{"type", strings.ToLower(*typ)}, {"service_code", code}, {"valid", ok}}, nil
	}
	v, err := emv.GenerateCVV(k, *pan, *expiry, code)
	if err != nil {
		return nil, err
	}
	return obj{{"type", strings.ToLower(*typ)}, {"service_code", code}, {"cvv", v.Reveal()}}, nil
}
