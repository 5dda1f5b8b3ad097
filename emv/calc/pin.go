package calc

import (
	"crypto/aes"
	"crypto/cipher"
	"flag"
	"fmt"
	"strings"

	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/emv/pinblock"
)

// PVV is `pvv`: the Visa PIN verification value of a PIN, or with --pvv
// whether a PVV matches.
func PVV(fs *flag.FlagSet, args []string) (any, error) {
	pvk := fs.String("pvk", "", "PIN verification key (pair), 8, 16 or 24 bytes hex")
	pan := fs.String("pan", "", "PAN, at least 12 digits")
	pvki := fs.String("pvki", "", "PIN verification key index, 1 digit")
	pin := fs.String("pin", "", "PIN, 4 to 12 digits (the leftmost 4 are used)")
	verify := fs.String("pvv", "", "a PVV to verify instead of printing the computed one")
	if err := parse(fs, args); err != nil {
		return nil, err
	}
	k, err := hexArg("pvk", *pvk, 8, 16, 24)
	if err != nil {
		return nil, err
	}
	for _, f := range []struct{ name, v string }{{"pan", *pan}, {"pvki", *pvki}, {"pin", *pin}} {
		if err := required(f.name, f.v); err != nil {
			return nil, err
		}
	}
	if *verify != "" {
		ok, err := emv.VerifyPVV(k, *pan, *pvki, *pin, *verify)
		if err != nil {
			return nil, err
		}
		return obj{{"valid", ok}}, nil
	}
	v, err := emv.PVV(k, *pan, *pvki, *pin)
	if err != nil {
		return nil, err
	}
	return obj{{"pvv", v}}, nil
}

// PINOffset is `pin-offset`: the IBM 3624 offset of a PIN, or with --offset
// whether an offset matches.
func PINOffset(fs *flag.FlagSet, args []string) (any, error) {
	pvk := fs.String("pvk", "", "PIN verification key, 8, 16 or 24 bytes hex")
	pin := fs.String("pin", "", "customer PIN, 4 to 12 digits")
	pan := fs.String("pan", "", "PAN to take the validation data from")
	start := fs.Int("start", 0, "first PAN digit of the validation data (0-based)")
	length := fs.Int("length", 16, "number of PAN digits in the validation data")
	pad := fs.String("pad", "F", "hex digit that pads the validation data to 16")
	vd := fs.String("validation-data", "", "validation data, 16 hex digits (instead of --pan/--start/--length/--pad)")
	table := fs.String("dec-table", emv.DefaultDecimalizationTable, "decimalisation table, 16 digits")
	verify := fs.String("offset", "", "an offset to verify the PIN against instead of printing the computed one")
	if err := parse(fs, args); err != nil {
		return nil, err
	}
	k, err := hexArg("pvk", *pvk, 8, 16, 24)
	if err != nil {
		return nil, err
	}
	if err := required("pin", *pin); err != nil {
		return nil, err
	}
	data := *vd
	if data == "" {
		if err := required("pan", *pan); err != nil {
			return nil, fmt.Errorf("missing --pan or --validation-data")
		}
		if len(*pad) != 1 {
			return nil, fmt.Errorf("--pad must be one hex digit")
		}
		if data, err = emv.PINValidationData(*pan, *start, *length, (*pad)[0]); err != nil {
			return nil, err
		}
	}
	if *verify != "" {
		ok, err := emv.VerifyIBM3624Offset(k, *pin, *verify, data, *table)
		if err != nil {
			return nil, err
		}
		return obj{{"validation_data", strings.ToUpper(data)}, {"valid", ok}}, nil
	}
	off, err := emv.IBM3624Offset(k, *pin, data, *table)
	if err != nil {
		return nil, err
	}
	return obj{{"validation_data", strings.ToUpper(data)}, {"offset", off}}, nil
}

// zpkCipher returns the cipher for a PIN block format: TDES for 0, 1, 3 and
// AES for 4.
func zpkCipher(name, hexKey string, f pinblock.Format) (cipher.Block, error) {
	if f == pinblock.Format4 {
		k, err := hexArg(name, hexKey, 16, 24, 32)
		if err != nil {
			return nil, err
		}
		return aes.NewCipher(k)
	}
	k, err := hexArg(name, hexKey, 8, 16, 24)
	if err != nil {
		return nil, err
	}
	return emv.NewTDES(k)
}

func formatArg(name string, n int) (pinblock.Format, error) {
	f, err := pinblock.ParseFormat(n)
	if err != nil {
		return 0, fmt.Errorf("--%s must be 0, 1, 3 or 4", name)
	}
	return f, nil
}

// PINBlock is `pinblock encode|decode|translate`: ISO 9564 PIN blocks of
// formats 0, 1, 3 (TDES) and 4 (AES), clear or under a zone PIN key.
func PINBlock(fs *flag.FlagSet, args []string) (any, error) {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		if len(args) > 0 && isHelp(args[0]) {
			fs.String("format", "0", "encode|decode|translate: see "+fs.Name()+" <op> -h")
			return nil, errHelp
		}
		return nil, fmt.Errorf("missing operation: pinblock encode|decode|translate")
	}
	op, args := args[0], args[1:]
	p := pinFlags{
		format: fs.Int("format", 0, "PIN block format: 0, 1, 3 (TDES key) or 4 (AES key); for translate, the source format"),
		pan:    fs.String("pan", "", "PAN the block is bound to (not used by format 1)"),
		zpk:    fs.String("zpk", "", "zone PIN key, hex (TDES for formats 0-3, AES for 4); encode without --zpk prints the clear block (formats 0, 1, 3)"),
	}
	switch op {
	case "encode":
		return p.encode(fs, args)
	case "decode":
		return p.decode(fs, args)
	case "translate":
		return p.translate(fs, args)
	default:
		return nil, fmt.Errorf("unknown operation %q: pinblock encode|decode|translate", op)
	}
}

// pinFlags are the flags every pinblock operation takes.
type pinFlags struct {
	format   *int
	pan, zpk *string
}

// parse parses an operation's flags and returns its --format.
func (p pinFlags) parse(fs *flag.FlagSet, args []string) (pinblock.Format, error) {
	if err := parse(fs, args); err != nil {
		return 0, err
	}
	return formatArg("format", *p.format)
}

func (p pinFlags) encode(fs *flag.FlagSet, args []string) (any, error) {
	pin := fs.String("pin", "", "PIN, 4 to 12 digits")
	f, err := p.parse(fs, args)
	if err != nil {
		return nil, err
	}
	if err := required("pin", *pin); err != nil {
		return nil, err
	}
	if *p.zpk == "" {
		b, err := pinblock.EncodeClear(f, []byte(*pin), *p.pan, nil)
		if err != nil {
			return nil, err
		}
		return obj{{"format", int(f)}, {"clear_pin_block", upperHex(b)}}, nil
	}
	c, err := zpkCipher("zpk", *p.zpk, f)
	if err != nil {
		return nil, err
	}
	b, err := pinblock.Encipher(f, c, []byte(*pin), *p.pan, nil)
	if err != nil {
		return nil, err
	}
	return obj{{"format", int(f)}, {"pin_block", upperHex(b)}}, nil
}

func (p pinFlags) decode(fs *flag.FlagSet, args []string) (any, error) {
	block := fs.String("pin-block", "", "enciphered PIN block, hex (or clear block without --zpk)")
	f, err := p.parse(fs, args)
	if err != nil {
		return nil, err
	}
	blk, err := hexArg("pin-block", *block, 8, 16)
	if err != nil {
		return nil, err
	}
	var pin []byte
	if *p.zpk == "" {
		pin, err = pinblock.DecodeClear(f, blk, *p.pan)
	} else {
		var c cipher.Block
		if c, err = zpkCipher("zpk", *p.zpk, f); err != nil {
			return nil, err
		}
		pin, err = pinblock.Decipher(f, c, blk, *p.pan)
	}
	if err != nil {
		return nil, err
	}
	return obj{{"format", int(f)}, {"pin", string(pin)}}, nil
}

func (p pinFlags) translate(fs *flag.FlagSet, args []string) (any, error) {
	block := fs.String("pin-block", "", "enciphered PIN block under --zpk, hex")
	toFormat := fs.Int("to-format", -1, "format of the new block (default: same as --format)")
	toZPK := fs.String("to-zpk", "", "key of the new block, hex")
	from, err := p.parse(fs, args)
	if err != nil {
		return nil, err
	}
	to := from
	if *toFormat >= 0 {
		if to, err = formatArg("to-format", *toFormat); err != nil {
			return nil, err
		}
	}
	blk, err := hexArg("pin-block", *block, 8, 16)
	if err != nil {
		return nil, err
	}
	src, err := zpkCipher("zpk", *p.zpk, from)
	if err != nil {
		return nil, err
	}
	dst, err := zpkCipher("to-zpk", *toZPK, to)
	if err != nil {
		return nil, err
	}
	out, err := pinblock.Translate(src, from, blk, *p.pan, dst, to, nil)
	if err != nil {
		return nil, err
	}
	return obj{{"format", int(to)}, {"pin_block", upperHex(out)}}, nil
}
