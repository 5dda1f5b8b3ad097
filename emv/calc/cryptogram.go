package calc

import (
	"bytes"
	"flag"
	"fmt"
	"strconv"
	"strings"

	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/emv/tlv"
)

// chipFlags are the flags that give a transaction's chip data: --data
// (field 55 BER-TLV) with per-tag overrides.
type chipFlags struct {
	data, atc, un, iad, arqc, acInput *string
	tags                              tagFlags
}

// tagFlags collects repeated --tag TAG=HEX flags.
type tagFlags []string

func (t *tagFlags) String() string     { return strings.Join(*t, ",") }
func (t *tagFlags) Set(s string) error { *t = append(*t, s); return nil }

// addChipFlags defines the chip data flags on fs.
func addChipFlags(fs *flag.FlagSet) *chipFlags {
	c := &chipFlags{
		data:    fs.String("data", "", "ICC data (ISO 8583 field 55) as BER-TLV hex: 9F02 9F03 9F1A 95 5F2A 9A 9C 9F37 82 9F36 9F10 (and 9F26)"),
		atc:     fs.String("atc", "", "ATC (9F36), 2 bytes hex; overrides --data"),
		un:      fs.String("un", "", "unpredictable number (9F37), 4 bytes hex; overrides --data"),
		iad:     fs.String("iad", "", "issuer application data (9F10) hex; overrides --data"),
		arqc:    fs.String("arqc", "", "ARQC (9F26), 8 bytes hex; overrides --data"),
		acInput: fs.String("ac-input", "", "raw cryptogram input (unpadded hex), instead of building it from the tags; the session key still uses --atc/--un"),
	}
	fs.Var(&c.tags, "tag", "one data element as TAG=HEX (repeatable), e.g. --tag 9F02=000000001000; overrides --data")
	return c
}

// tagMap decodes --data and applies the overrides.
func (c *chipFlags) tagMap() (map[tlv.Tag][]byte, error) {
	m := map[tlv.Tag][]byte{}
	if *c.data != "" {
		raw, err := hexArg("data", *c.data)
		if err != nil {
			return nil, err
		}
		l, err := tlv.Decode(raw)
		if err != nil {
			return nil, fmt.Errorf("--data: %w", err)
		}
		if m, err = l.Map(); err != nil {
			return nil, fmt.Errorf("--data: %w", err)
		}
	}
	for _, kvs := range c.tags {
		k, v, ok := strings.Cut(kvs, "=")
		if !ok {
			return nil, fmt.Errorf("--tag must be TAG=HEX")
		}
		tag, err := tlv.ParseTag(k)
		if err != nil {
			return nil, fmt.Errorf("--tag: %w", err)
		}
		val, err := hexArg("tag "+tag.String(), v)
		if err != nil {
			return nil, err
		}
		m[tag] = val
	}
	for _, o := range []struct {
		name string
		tag  uint32
		val  string
		n    []int
	}{
		{"atc", emv.TagATC, *c.atc, []int{2}},
		{"un", emv.TagUnpredictableNum, *c.un, []int{4}},
		{"iad", emv.TagIAD, *c.iad, nil},
		{"arqc", emv.TagCryptogram, *c.arqc, []int{8}},
	} {
		v, err := optHexArg(o.name, o.val, o.n...)
		if err != nil {
			return nil, err
		}
		if v != nil {
			m[tlv.Tag(o.tag)] = v
		}
	}
	return m, nil
}

// cryptogramSetup reads the CVN, the card key and the chip data shared by
// arqc, verify-arqc and arpc.
func cryptogramSetup(fs *flag.FlagSet, args []string, extra func()) (emv.CVN, emv.SecretBytes, map[tlv.Tag][]byte, *chipFlags, error) {
	scheme := fs.String("scheme", "", schemeHelp)
	cvnN := fs.Int("cvn", 0, "cryptogram version number: "+cvnNumbers(true))
	ck := addCardKeyFlags(fs, "ICC master key MK-AC, 16 bytes hex (or give --imk and --pan)")
	chip := addChipFlags(fs)
	if extra != nil {
		extra()
	}
	if err := parse(fs, args); err != nil {
		return emv.CVN{}, nil, nil, nil, err
	}
	if err := required("scheme", *scheme); err != nil {
		return emv.CVN{}, nil, nil, nil, err
	}
	if *cvnN == 0 {
		return emv.CVN{}, nil, nil, nil, fmt.Errorf("missing --cvn")
	}
	c, err := emv.LookupCVN(*scheme, *cvnN)
	if err != nil {
		return emv.CVN{}, nil, nil, nil, err
	}
	mk, err := ck.iccMK(c.MKD)
	if err != nil {
		return emv.CVN{}, nil, nil, nil, err
	}
	tags, err := chip.tagMap()
	if err != nil {
		return emv.CVN{}, nil, nil, nil, err
	}
	return c, mk, tags, chip, nil
}

// computeAC returns the cryptogram input and the AC for the chip data.
func computeAC(c emv.CVN, mk emv.SecretBytes, tags map[tlv.Tag][]byte, chip *chipFlags) ([]byte, []byte, emv.SecretBytes, error) {
	key, err := emv.ACKey(c, mk, tags)
	if err != nil {
		return nil, nil, nil, err
	}
	var input []byte
	if *chip.acInput != "" {
		if input, err = hexArg("ac-input", *chip.acInput); err != nil {
			return nil, nil, nil, err
		}
	} else if input, err = emv.ACInput(c, tags); err != nil {
		return nil, nil, nil, err
	}
	ac, err := emv.ApplicationCryptogram(key, input, c.Padding)
	if err != nil {
		return nil, nil, nil, err
	}
	return input, ac, key, nil
}

// ARQC is `arqc`: the ARQC a card of a CVN computes over the chip data.
func ARQC(fs *flag.FlagSet, args []string) (any, error) {
	c, mk, tags, chip, err := cryptogramSetup(fs, args, nil)
	if err != nil {
		return nil, err
	}
	input, ac, key, err := computeAC(c, mk, tags, chip)
	if err != nil {
		return nil, err
	}
	return obj{{"cvn", c.String()}, {"arqc", upperHex(ac)}, {"ac_input", upperHex(input)}, {"padding", int(c.Padding)}, {"ac_key_kcv", tdesKCV(key)}, {"icc_mk_kcv", tdesKCV(mk)}}, nil
}

// VerifyARQC is `verify-arqc`: whether an ARQC matches the chip data, and
// whether the IAD names the CVN.
func VerifyARQC(fs *flag.FlagSet, args []string) (any, error) {
	c, mk, tags, chip, err := cryptogramSetup(fs, args, nil)
	if err != nil {
		return nil, err
	}
	arqc, ok := tags[tlv.Tag(emv.TagCryptogram)]
	if !ok {
		return nil, fmt.Errorf("missing --arqc (or 9F26 in --data)")
	}
	if len(arqc) != 8 {
		return nil, fmt.Errorf("--arqc must be 8 bytes (%d given)", len(arqc))
	}
	var cvnMatch any
	if iad, ok := tags[tlv.Tag(emv.TagIAD)]; ok {
		if m, err := c.MatchesIAD(iad); err == nil {
			cvnMatch = m
		}
	}
	_, ac, key, err := computeAC(c, mk, tags, chip)
	if err != nil {
		return nil, err
	}
	return obj{{"cvn", c.String()}, {"arqc_valid", bytes.Equal(ac, arqc)}, {"computed_arqc", upperHex(ac)}, {"iad_cvn_matches", cvnMatch}, {"ac_key_kcv", tdesKCV(key)}}, nil
}

// arcArg reads --arc as a 2-character response code ("00") or 4 hex digits.
func arcArg(s string) ([]byte, error) {
	switch len(s) {
	case 0:
		return nil, fmt.Errorf("missing --arc")
	case 2:
		return emv.ARC(s), nil
	case 4:
		return hexArg("arc", s, 2)
	default:
		return nil, fmt.Errorf("--arc must be a 2-character response code (00) or 4 hex digits (3030)")
	}
}

// ARPC is `arpc`: the ARPC and tag 91 for a CVN, or with --method 1|2 a raw
// ARPC under a given key.
func ARPC(fs *flag.FlagSet, args []string) (any, error) {
	var arc, csu, prop *string
	var method *int
	var rawKey *string
	// Raw mode: --method 1|2 with --key as the ARPC key itself.
	if hasFlag(args, "method") {
		method = fs.Int("method", 0, "raw mode: ARPC method 1 or 2 with --key as the ARPC key")
		rawKey = fs.String("key", "", "ARPC key, 16 bytes hex")
		arqc := fs.String("arqc", "", "ARQC, 8 bytes hex")
		arc = fs.String("arc", "", "method 1: response code (00) or 4 hex digits")
		csu = fs.String("csu", "", "method 2: card status update, 4 bytes hex")
		prop = fs.String("proprietary", "", "method 2: proprietary authentication data, 0-8 bytes hex")
		if err := parse(fs, args); err != nil {
			return nil, err
		}
		key, err := hexArg("key", *rawKey, 16)
		if err != nil {
			return nil, err
		}
		q, err := hexArg("arqc", *arqc, 8)
		if err != nil {
			return nil, err
		}
		switch *method {
		case 1:
			a, err := arcArg(*arc)
			if err != nil {
				return nil, err
			}
			arpc, err := emv.ARPCMethod1(key, q, a)
			if err != nil {
				return nil, err
			}
			return obj{{"method", 1}, {"arpc", upperHex(arpc)}, {"tag91", upperHex(arpc) + upperHex(a)}}, nil
		case 2:
			cs, err := hexArg("csu", *csu, 4)
			if err != nil {
				return nil, err
			}
			p, err := optHexArg("proprietary", *prop)
			if err != nil {
				return nil, err
			}
			arpc, err := emv.ARPCMethod2(key, q, cs, p)
			if err != nil {
				return nil, err
			}
			return obj{{"method", 2}, {"arpc", upperHex(arpc)}, {"tag91", upperHex(arpc) + upperHex(cs) + upperHex(p)}}, nil
		default:
			return nil, fmt.Errorf("--method must be 1 or 2")
		}
	}
	c, mk, tags, _, err := cryptogramSetup(fs, args, func() {
		arc = fs.String("arc", "", "method 1 ("+arpcMethodCVNs(1)+"): response code (00) or 4 hex digits (3030)")
		csu = fs.String("csu", "", "method 2 ("+arpcMethodCVNs(2)+"): card status update, 4 bytes hex (00800000 approve, 00000000 decline)")
		prop = fs.String("proprietary", "", "method 2: proprietary authentication data, 0-8 bytes hex")
		fs.Int("method", 0, "raw mode: ARPC method 1 or 2 with --key as the ARPC key (no --cvn)")
	})
	if err != nil {
		return nil, err
	}
	var in emv.ARPCInput
	if c.ARPCMethod == 1 {
		if in.ARC, err = arcArg(*arc); err != nil {
			return nil, err
		}
	} else {
		if in.CSU, err = hexArg("csu", *csu, 4); err != nil {
			return nil, err
		}
		if in.ProprietaryData, err = optHexArg("proprietary", *prop); err != nil {
			return nil, err
		}
	}
	s, err := emv.NewACSession(c, mk, tags)
	if err != nil {
		return nil, err
	}
	arpc, err := s.GenerateARPC(in)
	if err != nil {
		return nil, err
	}
	t91, err := emv.IssuerAuthenticationData(c, arpc, in)
	if err != nil {
		return nil, err
	}
	return obj{{"cvn", c.String()}, {"method", c.ARPCMethod}, {"key", string(c.ARPCKey)}, {"arpc", upperHex(arpc)}, {"tag91", upperHex(t91)}}, nil
}

// CVN is `cvn`: the CVN registry, every row or one.
func CVN(fs *flag.FlagSet, args []string) (any, error) {
	scheme := fs.String("scheme", "", schemeHelp)
	cvnN := fs.Int("cvn", 0, "cryptogram version number")
	if err := parse(fs, args); err != nil {
		return nil, err
	}
	rows := emv.CVNs()
	if *scheme != "" || *cvnN != 0 {
		c, err := emv.LookupCVN(*scheme, *cvnN)
		if err != nil {
			return nil, err
		}
		rows = []emv.CVN{c}
	}
	out := make([]obj, 0, len(rows))
	for _, c := range rows {
		out = append(out, obj{
			{"scheme", string(c.Scheme)}, {"cvn", c.Number}, {"iad_cvn", fmt.Sprintf("%02X", c.Code)}, {"name", c.Name},
			{"master_key_derivation", c.MKD.String()}, {"ac_session_key", string(c.ACSessionKey)},
			{"ac_data", string(c.ACData)}, {"padding", int(c.Padding)}, {"arpc_method", c.ARPCMethod},
			{"arpc_key", string(c.ARPCKey)}, {"sm_session_key", string(c.SMSessionKey)}, {"source", c.Source},
		})
	}
	return obj{{"cvns", out}}, nil
}

// cvnNumbers lists the registry's CVNs scheme by scheme, in registry order:
// "visa 10, 18, 22; mastercard 16, 17, 20, 21" when named, else
// "10, 18, 22; 16, 17, 20, 21".
func cvnNumbers(named bool) string {
	var parts []string
	for _, g := range cvnsByScheme(func(emv.CVN) bool { return true }) {
		p := strings.Join(g.numbers, ", ")
		if named {
			p = string(g.scheme) + " " + p
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, "; ")
}

// arpcMethodCVNs names the CVNs whose ARPC method is m, a scheme alone when
// every one of its CVNs uses it: "visa 10, mastercard".
func arpcMethodCVNs(m int) string {
	var parts []string
	for _, g := range cvnsByScheme(func(c emv.CVN) bool { return c.ARPCMethod == m }) {
		if g.all {
			parts = append(parts, string(g.scheme))
		} else {
			parts = append(parts, string(g.scheme)+" "+strings.Join(g.numbers, ", "))
		}
	}
	return strings.Join(parts, ", ")
}

// schemeCVNs are the numbers of one scheme's CVNs that a filter kept.
type schemeCVNs struct {
	scheme  emv.Scheme
	numbers []string
	all     bool // the filter kept every CVN of the scheme
}

// cvnsByScheme groups the registry's CVNs that keep accepts by scheme, in
// registry order, leaving out schemes with none.
func cvnsByScheme(keep func(emv.CVN) bool) []schemeCVNs {
	var out []schemeCVNs
	total := map[emv.Scheme]int{}
	for _, c := range emv.CVNs() {
		total[c.Scheme]++
		if !keep(c) {
			continue
		}
		if len(out) == 0 || out[len(out)-1].scheme != c.Scheme {
			out = append(out, schemeCVNs{scheme: c.Scheme})
		}
		g := &out[len(out)-1]
		g.numbers = append(g.numbers, strconv.Itoa(c.Number))
	}
	for i := range out {
		out[i].all = len(out[i].numbers) == total[out[i].scheme]
	}
	return out
}
