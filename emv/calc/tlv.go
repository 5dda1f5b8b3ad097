package calc

import (
	"flag"
	"fmt"

	"github.com/cardhost/cardhost/emv/tlv"
)

// TLV is `tlv decode`: BER-TLV (field 55) as a JSON tree, with the EMV
// names of the tags and card data tags masked unless --reveal.
func TLV(fs *flag.FlagSet, args []string) (any, error) {
	if len(args) == 0 || args[0] != "decode" {
		if len(args) > 0 && isHelp(args[0]) {
			fs.String("data", "", "BER-TLV hex: tlv decode --data ...")
			return nil, errHelp
		}
		return nil, fmt.Errorf("missing operation: tlv decode --data <hex>")
	}
	data := fs.String("data", "", "BER-TLV data (e.g. ISO 8583 field 55), hex")
	reveal := fs.Bool("reveal", false, "show values of card data tags (5A PAN, 57 track 2, 5F20 name, ...), which are masked by default")
	if err := parse(fs, args[1:]); err != nil {
		return nil, err
	}
	raw, err := hexArg("data", *data)
	if err != nil {
		return nil, err
	}
	l, err := tlv.Decode(raw)
	if err != nil {
		return nil, err
	}
	return obj{{"tlv", tlvJSON(l, *reveal)}}, nil
}

// tlvJSON is l as result objects, children nested.
func tlvJSON(l tlv.List, reveal bool) []obj {
	out := make([]obj, 0, len(l))
	for _, t := range l {
		o := obj{{"tag", t.Tag.String()}}
		if name, ok := tagNames[uint32(t.Tag)]; ok {
			o = append(o, kv{"name", name})
		}
		if t.Tag.Constructed() {
			o = append(o, kv{"children", tlvJSON(t.Children, reveal)})
		} else {
			o = append(o, kv{"length", len(t.Value)})
			if tlv.IsSensitive(t.Tag) && !reveal {
				o = append(o, kv{"value", "[redacted]"})
			} else {
				o = append(o, kv{"value", upperHex(t.Value)})
			}
		}
		out = append(out, o)
	}
	return out
}

// tagNames names the EMV data elements support engineers meet in field 55.
var tagNames = map[uint32]string{
	0x57: "Track 2 equivalent data", 0x5A: "PAN", 0x5F20: "Cardholder name", 0x5F24: "Expiry date",
	0x5F2A: "Transaction currency code", 0x5F34: "PAN sequence number", 0x71: "Issuer script template 1",
	0x72: "Issuer script template 2", 0x82: "Application interchange profile", 0x84: "Dedicated file name",
	0x91: "Issuer authentication data", 0x95: "Terminal verification results", 0x9A: "Transaction date",
	0x9C: "Transaction type", 0x9F02: "Amount, authorised", 0x9F03: "Amount, other",
	0x9F09: "Application version number", 0x9F10: "Issuer application data", 0x9F1A: "Terminal country code",
	0x9F1E: "Interface device serial number", 0x9F26: "Application cryptogram", 0x9F27: "Cryptogram information data",
	0x9F33: "Terminal capabilities", 0x9F34: "CVM results", 0x9F35: "Terminal type",
	0x9F36: "Application transaction counter", 0x9F37: "Unpredictable number", 0x9F41: "Transaction sequence counter",
	0x9F53: "Transaction category code", 0x9F6E: "Form factor indicator",
}
