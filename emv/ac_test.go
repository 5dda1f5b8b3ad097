package emv

import (
	"errors"
	"testing"
)

type arpcCase struct {
	Method      int     `json:"method"`
	Key         ARPCKey `json:"key"`
	ARC         string  `json:"arc"`
	CSU         string  `json:"csu"`
	Proprietary string  `json:"proprietary"`
	ARPC        string  `json:"arpc"`
}

type acVector struct {
	sourced
	IMK      string     `json:"imk"`
	PAN      string     `json:"pan"`
	PSN      string     `json:"psn"`
	MKD      string     `json:"mkd"`
	ICCMKKCV string     `json:"icc_mk_kcv"`
	SKD      string     `json:"skd"`
	ATC      string     `json:"atc"`
	UN       string     `json:"un"`
	R        string     `json:"r"`
	SKKCV    string     `json:"sk_kcv"`
	Data     string     `json:"data"`
	Padding  Padding    `json:"padding"`
	AC       string     `json:"ac"`
	ARPC     []arpcCase `json:"arpc"`
}

func mkdOption(t testing.TB, s string) MKDOption {
	switch s {
	case "A":
		return MKDOptionA
	case "B":
		return MKDOptionB
	case "auto":
		return MKDAuto
	}
	t.Fatalf("unknown derivation option %q", s)
	return 0
}

// TestCryptogramBuildingBlocksPublishedVectors chains master key
// derivation, session key derivation, the AC MAC and both ARPC methods, and
// checks every intermediate value the source publishes.
func TestCryptogramBuildingBlocksPublishedVectors(t *testing.T) {
	forVectors(t, "arqc_arpc.json", func(t *testing.T, v acVector) {
		imk, err := NewTDES(mustHex(t, v.IMK))
		if err != nil {
			t.Fatal(err)
		}
		mk, err := DeriveICCMasterKeyWith(imk, mkdOption(t, v.MKD), v.PAN, v.PSN)
		if err != nil {
			t.Fatal(err)
		}
		if !HasOddParity(mk) {
			t.Error("ICC master key does not have odd parity")
		}
		if v.ICCMKKCV != "" {
			kcv, _ := KCV(AlgorithmTDES, mk)
			if !hexPrefix(kcv, v.ICCMKKCV) {
				t.Errorf("ICC MK KCV = %s, want %s", EncodeHex(kcv), v.ICCMKKCV)
			}
		}
		var sk SecretBytes
		if v.SKD == "r" {
			sk, err = DeriveCommonSessionKey(mk, mustHex(t, v.R))
		} else {
			sk, err = DeriveSessionKey(SessionKeyDerivation(v.SKD), mk, mustHex(t, v.ATC), mustHex(t, v.UN))
		}
		if err != nil {
			t.Fatal(err)
		}
		if v.SKKCV != "" {
			kcv, _ := KCV(AlgorithmTDES, sk)
			if !hexPrefix(kcv, v.SKKCV) {
				t.Errorf("session key KCV = %s, want %s", EncodeHex(kcv), v.SKKCV)
			}
		}
		ac, err := ApplicationCryptogram(sk, mustHex(t, v.Data), v.Padding)
		if err != nil {
			t.Fatal(err)
		}
		if EncodeHex(ac) != v.AC {
			t.Fatalf("AC = %s, want %s", EncodeHex(ac), v.AC)
		}
		for _, a := range v.ARPC {
			key := []byte(mk)
			if a.Key == ARPCKeySessionKey {
				key = sk
			}
			var arpc []byte
			switch a.Method {
			case 1:
				arpc, err = ARPCMethod1(key, ac, mustHex(t, a.ARC))
			case 2:
				arpc, err = ARPCMethod2(key, ac, mustHex(t, a.CSU), mustHex(t, a.Proprietary))
			default:
				t.Fatalf("ARPC method %d", a.Method)
			}
			if err != nil {
				t.Fatal(err)
			}
			if EncodeHex(arpc) != a.ARPC {
				t.Errorf("ARPC method %d with %s = %s, want %s", a.Method, a.Key, EncodeHex(arpc), a.ARPC)
			}
		}
	})
}

type arpcVector struct {
	sourced
	Key    string `json:"key"`
	Data   string `json:"data"`
	AC     string `json:"ac"`
	ARQC   string `json:"arqc"`
	Method int    `json:"method"`
	ARC    string `json:"arc"`
	CSU    string `json:"csu"`
	ARPC   string `json:"arpc"`
}

func TestARPCPublishedVectors(t *testing.T) {
	forVectors(t, "arpc.json", func(t *testing.T, v arpcVector) {
		key := mustHex(t, v.Key)
		if v.Data != "" {
			ac, err := ApplicationCryptogram(key, mustHex(t, v.Data), PaddingMethod2)
			if err != nil {
				t.Fatal(err)
			}
			if EncodeHex(ac) != v.AC {
				t.Errorf("AC = %s, want %s", EncodeHex(ac), v.AC)
			}
			return
		}
		var arpc []byte
		var err error
		if v.Method == 1 {
			arpc, err = ARPCMethod1(key, mustHex(t, v.ARQC), mustHex(t, v.ARC))
		} else {
			arpc, err = ARPCMethod2(key, mustHex(t, v.ARQC), mustHex(t, v.CSU), nil)
		}
		if err != nil {
			t.Fatal(err)
		}
		if EncodeHex(arpc) != v.ARPC {
			t.Errorf("ARPC = %s, want %s", EncodeHex(arpc), v.ARPC)
		}
	})
}

func TestARPCRejects(t *testing.T) {
	key := make([]byte, 16)
	for _, tc := range []struct {
		name string
		fn   func() error
		want error
	}{
		{"method 1 key 8 bytes", func() error { _, err := ARPCMethod1(make([]byte, 8), make([]byte, 8), []byte("00")); return err }, ErrKeyLength},
		{"method 1 ARQC 7 bytes", func() error { _, err := ARPCMethod1(key, make([]byte, 7), []byte("00")); return err }, ErrLength},
		{"method 1 ARC 3 bytes", func() error { _, err := ARPCMethod1(key, make([]byte, 8), []byte("000")); return err }, ErrLength},
		{"method 2 CSU 3 bytes", func() error { _, err := ARPCMethod2(key, make([]byte, 8), make([]byte, 3), nil); return err }, ErrLength},
		{"method 2 proprietary 9 bytes", func() error {
			_, err := ARPCMethod2(key, make([]byte, 8), make([]byte, 4), make([]byte, 9))
			return err
		}, ErrLength},
		{"AC key 24 bytes", func() error { _, err := ApplicationCryptogram(make([]byte, 24), nil, PaddingMethod2); return err }, ErrKeyLength},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.fn(); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}
