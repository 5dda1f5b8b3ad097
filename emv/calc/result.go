package calc

import (
	"bytes"
	"encoding/json"

	"github.com/cardhost/cardhost/emv"
)

// obj is a JSON object that keeps its keys in insertion order.
type obj []kv

type kv struct {
	k string
	v any
}

// MarshalJSON writes the pairs in order.
func (o obj) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, p := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(p.k)
		v, err := json.Marshal(p.v)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// upperHex is how results print bytes: upper-case hex.
func upperHex(b []byte) string { return emv.EncodeHex(b) }

// tdesKCV is a TDES key's check value for the output ("" if not a TDES key).
func tdesKCV(key []byte) string {
	k, err := emv.KCV(emv.AlgorithmTDES, key)
	if err != nil {
		return ""
	}
	return upperHex(k)
}
