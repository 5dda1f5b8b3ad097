package emv

import (
	"errors"
	"testing"
)

type mkdVector struct {
	sourced
	Option string `json:"option"`
	IMK    string `json:"imk"`
	PAN    string `json:"pan"`
	PSN    string `json:"psn"`
	Key    string `json:"key"`
	KCV    string `json:"kcv"`
}

func TestICCMasterKeyPublishedVectors(t *testing.T) {
	forVectors(t, "icc_master_key.json", func(t *testing.T, v mkdVector) {
		imk := mustHex(t, v.IMK)
		var mk SecretBytes
		var err error
		switch v.Option {
		case "A":
			mk, err = DeriveICCMasterKeyA(imk, v.PAN, v.PSN)
		case "B":
			mk, err = DeriveICCMasterKeyB(imk, v.PAN, v.PSN)
		case "auto":
			mk, err = DeriveICCMasterKey(imk, v.PAN, v.PSN)
		default:
			t.Fatalf("option %q", v.Option)
		}
		if err != nil {
			t.Fatal(err)
		}
		if v.Key != "" && EncodeHex(mk) != v.Key {
			t.Errorf("ICC MK = %s, want %s", EncodeHex(mk), v.Key)
		}
		if v.KCV != "" {
			kcv, _ := KCV(AlgorithmTDES, mk)
			if !hexPrefix(kcv, v.KCV) {
				t.Errorf("ICC MK KCV = %s, want %s", EncodeHex(kcv), v.KCV)
			}
		}
		if !HasOddParity(mk) {
			t.Error("ICC MK does not have odd parity")
		}
	})
}

type skVector struct {
	sourced
	Method string `json:"method"`
	ICCMK  string `json:"icc_mk"`
	IMK    string `json:"imk"`
	PAN    string `json:"pan"`
	PSN    string `json:"psn"`
	R      string `json:"r"`
	ATC    string `json:"atc"`
	UN     string `json:"un"`
	ARQC   string `json:"arqc"`
	Key    string `json:"key"`
	KCV    string `json:"kcv"`
}

func TestSessionKeyPublishedVectors(t *testing.T) {
	forVectors(t, "session_key.json", func(t *testing.T, v skVector) {
		var mk []byte
		if v.ICCMK != "" {
			mk = mustHex(t, v.ICCMK)
		} else {
			k, err := DeriveICCMasterKeyA(mustHex(t, v.IMK), v.PAN, v.PSN)
			if err != nil {
				t.Fatal(err)
			}
			mk = k
		}
		var sk SecretBytes
		var err error
		switch v.Method {
		case "r":
			sk, err = DeriveCommonSessionKey(mk, mustHex(t, v.R))
		case "emv-csk":
			sk, err = DeriveSessionKeyEMV(mk, mustHex(t, v.ATC))
		case "mastercard-skd":
			sk, err = DeriveSessionKeyMastercard(mk, mustHex(t, v.ATC), mustHex(t, v.UN))
		case "visa-sm":
			sk, err = DeriveSessionKeyVisaSM(mk, mustHex(t, v.ATC))
		case "emv-csk-arqc":
			sk, err = DeriveSessionKey(SKDCommonARQC, mk, nil, mustHex(t, v.ARQC))
		default:
			t.Fatalf("method %q", v.Method)
		}
		if err != nil {
			t.Fatal(err)
		}
		if v.Key != "" && EncodeHex(sk) != v.Key {
			t.Errorf("session key = %s, want %s", EncodeHex(sk), v.Key)
		}
		if v.KCV != "" {
			kcv, _ := KCV(AlgorithmTDES, sk)
			if !hexPrefix(kcv, v.KCV) {
				t.Errorf("session key KCV = %s, want %s", EncodeHex(kcv), v.KCV)
			}
		}
	})
}

func TestKeyDerivationRejects(t *testing.T) {
	imk := make([]byte, 16)
	for _, tc := range []struct {
		name string
		fn   func() error
		want error
	}{
		{"IMK 8 bytes", func() error { _, err := DeriveICCMasterKey(make([]byte, 8), "1234567890123456", ""); return err }, ErrKeyLength},
		{"IMK 24 bytes", func() error { _, err := DeriveICCMasterKey(make([]byte, 24), "1234567890123456", ""); return err }, ErrKeyLength},
		{"PAN with letter", func() error { _, err := DeriveICCMasterKey(imk, "12345678901234X6", ""); return err }, ErrPAN},
		{"PAN 20 digits", func() error { _, err := DeriveICCMasterKey(imk, "12345678901234567890", ""); return err }, ErrPAN},
		{"PAN 7 digits", func() error { _, err := DeriveICCMasterKey(imk, "1234567", ""); return err }, ErrPAN},
		{"PSN one digit", func() error { _, err := DeriveICCMasterKey(imk, "1234567890123456", "1"); return err }, ErrDigits},
		{"PSN letters", func() error { _, err := DeriveICCMasterKey(imk, "1234567890123456", "0A"); return err }, ErrDigits},
		{"PSN 3 digits not starting 0", func() error { _, err := DeriveICCMasterKey(imk, "1234567890123456", "101"); return err }, ErrDigits},
		{"session key ATC 3 bytes", func() error { _, err := DeriveSessionKeyEMV(imk, []byte{1, 2, 3}); return err }, ErrLength},
		{"session key UN 2 bytes", func() error { _, err := DeriveSessionKeyMastercard(imk, []byte{1, 2}, []byte{1, 2}); return err }, ErrLength},
		{"session key MK 8 bytes", func() error { _, err := DeriveSessionKeyEMV(make([]byte, 8), []byte{1, 2}); return err }, ErrKeyLength},
		{"common R 7 bytes", func() error { _, err := DeriveCommonSessionKey(imk, make([]byte, 7)); return err }, ErrLength},
		{"unknown method", func() error { _, err := DeriveSessionKey("x", imk, []byte{1, 2}, nil); return err }, ErrUnsupported},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.fn(); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestSessionKeyNoneCopiesMasterKey(t *testing.T) {
	mk := mustHex(t, "0123456789ABCDEFFEDCBA9876543210")
	sk, err := DeriveSessionKey(SKDNone, mk, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if EncodeHex(sk) != EncodeHex(mk) {
		t.Fatalf("SKDNone key = %s, want the master key", EncodeHex(sk))
	}
	sk.Wipe()
	if EncodeHex(mk) != "0123456789ABCDEFFEDCBA9876543210" {
		t.Fatal("wiping the session key changed the master key")
	}
}
