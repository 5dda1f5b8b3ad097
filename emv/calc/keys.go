package calc

import (
	"flag"
	"fmt"
	"strings"

	"github.com/cardhost/cardhost/emv"
)

// KCV is `kcv`: the check value of a TDES or AES key (ANSI X9.24-1
// encrypt-zeros or CMAC).
func KCV(fs *flag.FlagSet, args []string) (any, error) {
	key := fs.String("key", "", "clear key in hex (TDES: 8, 16 or 24 bytes; AES: 16, 24 or 32)")
	alg := fs.String("alg", "tdes", "key algorithm: tdes or aes")
	method := fs.String("method", "", "encrypt-zeros or cmac (default: encrypt-zeros for tdes, cmac for aes, per ANSI X9.24-1:2017)")
	length := fs.Int("length", 3, "check value length in bytes (X9.24-1: at most 3 for encrypt-zeros, 5 for cmac)")
	if err := parse(fs, args); err != nil {
		return nil, err
	}
	k, err := hexArg("key", *key)
	if err != nil {
		return nil, err
	}
	a := emv.KeyAlgorithm(strings.ToLower(*alg))
	m := emv.KCVMethod(strings.ToLower(*method))
	if m == "" {
		m = emv.KCVEncryptZeros
		if a == emv.AlgorithmAES {
			m = emv.KCVCMAC
		}
	}
	kcv, err := emv.KCVWithMethod(a, m, k, *length)
	if err != nil {
		return nil, err
	}
	return obj{{"algorithm", string(a)}, {"method", string(m)}, {"kcv", upperHex(kcv)}}, nil
}

// cardKeyFlags are the flags that name a card's ICC master key: either the
// key itself (--key) or the issuer master key and the card (--imk --pan
// --psn, with --option).
type cardKeyFlags struct {
	key, imk, pan, psn, option *string
}

// addCardKeyFlags defines the card key flags on fs.
func addCardKeyFlags(fs *flag.FlagSet, keyHelp string) cardKeyFlags {
	return cardKeyFlags{
		key:    fs.String("key", "", keyHelp),
		imk:    fs.String("imk", "", "issuer master key (IMK-AC, IMK-SMI or IMK-SMC), 16 bytes hex, to derive the ICC master key from"),
		pan:    fs.String("pan", "", "PAN (with --imk)"),
		psn:    fs.String("psn", "", "PAN sequence number, 2 digits (default 00; field 23's 0nn accepted)"),
		option: fs.String("option", "", "ICC master key derivation: A, B or auto (default: the CVN's, else auto = A up to 16 PAN digits, B above)"),
	}
}

// parseOption reads --option (A, B or auto); "" gives def.
func parseOption(s string, def emv.MKDOption) (emv.MKDOption, error) {
	switch strings.ToLower(s) {
	case "":
		return def, nil
	case "auto":
		return emv.MKDAuto, nil
	case "a":
		return emv.MKDOptionA, nil
	case "b":
		return emv.MKDOptionB, nil
	default:
		return 0, fmt.Errorf("--option must be A, B or auto")
	}
}

// iccMK returns the ICC master key: --key, or derived from --imk --pan --psn.
func (f cardKeyFlags) iccMK(def emv.MKDOption) (emv.SecretBytes, error) {
	if *f.key != "" {
		if *f.imk != "" {
			return nil, fmt.Errorf("give --key (ICC master key) or --imk with --pan, not both")
		}
		k, err := hexArg("key", *f.key, 16)
		return emv.SecretBytes(k), err
	}
	if *f.imk == "" {
		return nil, fmt.Errorf("missing --key (ICC master key) or --imk with --pan")
	}
	imk, err := hexArg("imk", *f.imk, 16)
	if err != nil {
		return nil, err
	}
	if err := required("pan", *f.pan); err != nil {
		return nil, err
	}
	opt, err := parseOption(*f.option, def)
	if err != nil {
		return nil, err
	}
	b, err := emv.NewTDES(imk)
	if err != nil {
		return nil, err
	}
	return emv.DeriveICCMasterKeyWith(b, opt, *f.pan, *f.psn)
}

// DeriveICCMK is `derive-icc-mk`: an ICC master key from an issuer master
// key and the card (EMV option A or B).
func DeriveICCMK(fs *flag.FlagSet, args []string) (any, error) {
	imk := fs.String("imk", "", "issuer master key, 16 bytes hex")
	pan := fs.String("pan", "", "PAN, 8 to 19 digits")
	psn := fs.String("psn", "", "PAN sequence number, 2 digits (default 00)")
	option := fs.String("option", "auto", "A, B or auto (A up to 16 PAN digits, B above)")
	if err := parse(fs, args); err != nil {
		return nil, err
	}
	k, err := hexArg("imk", *imk, 16)
	if err != nil {
		return nil, err
	}
	if err := required("pan", *pan); err != nil {
		return nil, err
	}
	opt, err := parseOption(*option, emv.MKDAuto)
	if err != nil {
		return nil, err
	}
	used := opt
	if used == emv.MKDAuto || len(*pan) <= 16 {
		used = emv.MKDOptionA
		if len(*pan) > 16 {
			used = emv.MKDOptionB
		}
	}
	b, err := emv.NewTDES(k)
	if err != nil {
		return nil, err
	}
	mk, err := emv.DeriveICCMasterKeyWith(b, opt, *pan, *psn)
	if err != nil {
		return nil, err
	}
	return obj{{"option", used.String()}, {"icc_mk", upperHex(mk)}, {"kcv", tdesKCV(mk)}, {"imk_kcv", tdesKCV(k)}}, nil
}

// SessionKey is `session-key`: a session key from an ICC master key, by a
// named method or the AC method of a CVN.
func SessionKey(fs *flag.FlagSet, args []string) (any, error) {
	ck := addCardKeyFlags(fs, "ICC master key, 16 bytes hex (or give --imk and --pan)")
	method := fs.String("method", "", "emv-csk (R = ATC||00..), mastercard-skd (R = ATC||0000||UN), unionpay-skd (ATC and its complement), visa-sm, emv-csk-arqc (R = ARQC), or r (explicit --r); default: the AC key of --scheme/--cvn")
	scheme := fs.String("scheme", "", schemeHelp+" (with --cvn, picks the AC session key method)")
	cvnN := fs.Int("cvn", 0, "cryptogram version number ("+cvnNumbers(false)+")")
	atc := fs.String("atc", "", "application transaction counter (9F36), 2 bytes hex")
	un := fs.String("un", "", "unpredictable number (9F37), 4 bytes hex")
	arqc := fs.String("arqc", "", "ARQC, 8 bytes hex (method emv-csk-arqc)")
	r := fs.String("r", "", "diversification value R, 8 bytes hex (method r)")
	if err := parse(fs, args); err != nil {
		return nil, err
	}
	m := *method
	def := emv.MKDAuto
	if *scheme != "" || *cvnN != 0 {
		c, err := emv.LookupCVN(*scheme, *cvnN)
		if err != nil {
			return nil, err
		}
		def = c.MKD
		if m == "" {
			m = string(c.ACSessionKey)
		}
	}
	if m == "" {
		return nil, fmt.Errorf("missing --method (or --scheme and --cvn)")
	}
	mk, err := ck.iccMK(def)
	if err != nil {
		return nil, err
	}
	var sk emv.SecretBytes
	switch m {
	case "r":
		rb, err := hexArg("r", *r, 8)
		if err != nil {
			return nil, err
		}
		sk, err = emv.DeriveCommonSessionKey(mk, rb)
		if err != nil {
			return nil, err
		}
	default:
		a, err := optHexArg("atc", *atc, 2)
		if err != nil {
			return nil, err
		}
		var extra []byte
		switch emv.SessionKeyDerivation(m) {
		case emv.SKDMastercard:
			if extra, err = hexArg("un", *un, 4); err != nil {
				return nil, err
			}
		case emv.SKDCommonARQC:
			if extra, err = hexArg("arqc", *arqc, 8); err != nil {
				return nil, err
			}
		case emv.SKDCommon, emv.SKDVisaSM, emv.SKDUnionPay:
			if a == nil {
				return nil, fmt.Errorf("missing --atc")
			}
		}
		sk, err = emv.DeriveSessionKey(emv.SessionKeyDerivation(m), mk, a, extra)
		if err != nil {
			return nil, err
		}
	}
	return obj{{"method", m}, {"session_key", upperHex(sk)}, {"kcv", tdesKCV(sk)}, {"icc_mk_kcv", tdesKCV(mk)}}, nil
}
