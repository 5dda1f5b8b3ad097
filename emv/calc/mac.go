package calc

import (
	"flag"
	"fmt"

	"github.com/cardhost/cardhost/emv"
)

// MAC is `mac`: an ISO 9797-1 MAC (algorithm 1 or 3) of hex or text data.
func MAC(fs *flag.FlagSet, args []string) (any, error) {
	key := fs.String("key", "", "MAC key hex: algorithm 3 needs 16 bytes (K||K'); algorithm 1 takes 8, 16 or 24")
	alg := fs.Int("alg", 3, "ISO 9797-1 MAC algorithm: 1 (CBC-MAC) or 3 (retail MAC, ANSI X9.19)")
	data := fs.String("data", "", "data to MAC, hex")
	text := fs.String("text", "", "data to MAC as text (instead of --data)")
	padding := fs.Int("padding", 1, "ISO 9797-1 padding method: 1, 2 or 3")
	length := fs.Int("length", 8, "MAC length in bytes, 4 to 8")
	if err := parse(fs, args); err != nil {
		return nil, err
	}
	k, err := hexArg("key", *key)
	if err != nil {
		return nil, err
	}
	msg := []byte(*text)
	if *data != "" {
		if *text != "" {
			return nil, fmt.Errorf("give --data or --text, not both")
		}
		if msg, err = hexArg("data", *data); err != nil {
			return nil, err
		}
	}
	if *length < 4 || *length > 8 {
		return nil, fmt.Errorf("--length must be 4 to 8")
	}
	var mac []byte
	switch *alg {
	case 1:
		mac, err = emv.MACAlgorithm1(k, msg, emv.Padding(*padding))
	case 3:
		mac, err = emv.MACAlgorithm3(k, msg, emv.Padding(*padding))
	default:
		return nil, fmt.Errorf("--alg must be 1 or 3")
	}
	if err != nil {
		return nil, err
	}
	return obj{{"alg", *alg}, {"padding", *padding}, {"mac", upperHex(mac[:*length])}}, nil
}
