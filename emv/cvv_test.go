package emv

import (
	"errors"
	"fmt"
	"testing"
)

type cvvVector struct {
	sourced
	CVK         string `json:"cvk"`
	PAN         string `json:"pan"`
	Expiry      string `json:"expiry"`
	ServiceCode string `json:"service_code"`
	CVV         string `json:"cvv"`
}

func TestCVVPublishedVectors(t *testing.T) {
	forVectors(t, "cvv.json", func(t *testing.T, v cvvVector) {
		cvk := mustHex(t, v.CVK)
		got, err := GenerateCVV(cvk, v.PAN, v.Expiry, v.ServiceCode)
		if err != nil {
			t.Fatal(err)
		}
		if got.Reveal() != v.CVV {
			t.Errorf("CVV = %s, want %s", got.Reveal(), v.CVV)
		}
		if ok, err := VerifyCVV(cvk, v.PAN, v.Expiry, v.ServiceCode, v.CVV); err != nil || !ok {
			t.Errorf("VerifyCVV(published) = %v, %v", ok, err)
		}
		wrong := fmt.Sprintf("%03d", (int(v.CVV[2]-'0')+1)%10+int(v.CVV[0]-'0')*100+int(v.CVV[1]-'0')*10)
		if ok, err := VerifyCVV(cvk, v.PAN, v.Expiry, v.ServiceCode, wrong); err != nil || ok {
			t.Errorf("VerifyCVV(%s) = %v, %v; want false", wrong, ok, err)
		}
		block, err := NewTDES(cvk)
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := VerifyCVVWith(block, v.PAN, v.Expiry, v.ServiceCode, v.CVV); err != nil || !ok {
			t.Errorf("VerifyCVVWith(published) = %v, %v", ok, err)
		}
		if ok, err := VerifyCVVWith(block, v.PAN, v.Expiry, v.ServiceCode, wrong); err != nil || ok {
			t.Errorf("VerifyCVVWith(%s) = %v, %v; want false", wrong, ok, err)
		}
	})
}

func TestVerifyCVVWithNeedsADoubleLengthKey(t *testing.T) {
	single, err := NewTDES(mustHex(t, "0123456789ABCDEF"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyCVVWith(single, "4123456789012345", "8701", "101", "561"); !errors.Is(err, ErrKeyLength) {
		t.Errorf("VerifyCVVWith(single DES) error = %v, want ErrKeyLength", err)
	}
}

func TestCVVVariantsUseTheirServiceCodes(t *testing.T) {
	cvk := mustHex(t, "0123456789ABCDEFFEDCBA9876543210")
	for _, tc := range []struct {
		name string
		fn   func() (CVV, error)
		sc   string
	}{
		{"iCVV", func() (CVV, error) { return GenerateICVV(cvk, "4123456789012345", "8701") }, "999"},
		{"CVV2", func() (CVV, error) { return GenerateCVV2(cvk, "4123456789012345", "8701") }, "000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.fn()
			if err != nil {
				t.Fatal(err)
			}
			want, _ := GenerateCVV(cvk, "4123456789012345", "8701", tc.sc)
			if got != want {
				t.Errorf("%s = %s, CVV with service code %s = %s", tc.name, got.Reveal(), tc.sc, want.Reveal())
			}
			if fmt.Sprint(got) != "[redacted]" {
				t.Errorf("formatted CVV = %q, want [redacted]", fmt.Sprint(got))
			}
		})
	}
}

func TestCVVRejects(t *testing.T) {
	cvk := make([]byte, 16)
	for _, tc := range []struct {
		name                  string
		cvk                   []byte
		pan, exp, sc, present string
		want                  error
	}{
		{"CVK 8 bytes", make([]byte, 8), "4123456789012345", "8701", "101", "123", ErrKeyLength},
		{"CVK 24 bytes", make([]byte, 24), "4123456789012345", "8701", "101", "123", ErrKeyLength},
		{"PAN with letter", cvk, "41234567890123A5", "8701", "101", "123", ErrPAN},
		{"PAN 20 digits", cvk, "41234567890123456789", "8701", "101", "123", ErrPAN},
		{"expiry 3 digits", cvk, "4123456789012345", "871", "101", "123", ErrDigits},
		{"expiry letters", cvk, "4123456789012345", "87A1", "101", "123", ErrDigits},
		{"service code 2 digits", cvk, "4123456789012345", "8701", "10", "123", ErrDigits},
		{"presented CVV 4 digits", cvk, "4123456789012345", "8701", "101", "1234", ErrDigits},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := VerifyCVV(tc.cvk, tc.pan, tc.exp, tc.sc, tc.present)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

type pvvVector struct {
	sourced
	PVK  string `json:"pvk"`
	PAN  string `json:"pan"`
	PVKI string `json:"pvki"`
	PIN  string `json:"pin"`
	PVV  string `json:"pvv"`
}

func TestPVVPublishedVectors(t *testing.T) {
	forVectors(t, "pvv.json", func(t *testing.T, v pvvVector) {
		pvk := mustHex(t, v.PVK)
		got, err := PVV(pvk, v.PAN, v.PVKI, v.PIN)
		if err != nil {
			t.Fatal(err)
		}
		if got != v.PVV {
			t.Errorf("PVV = %s, want %s", got, v.PVV)
		}
		if ok, err := VerifyPVV(pvk, v.PAN, v.PVKI, v.PIN, v.PVV); err != nil || !ok {
			t.Errorf("VerifyPVV = %v, %v", ok, err)
		}
		otherPIN := fmt.Sprintf("%04d", (atoi(v.PIN)+1)%10000)
		if ok, err := VerifyPVV(pvk, v.PAN, v.PVKI, otherPIN, v.PVV); err != nil || ok {
			t.Errorf("VerifyPVV with another PIN = %v, %v; want false", ok, err)
		}
	})
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

func TestPVVRejects(t *testing.T) {
	pvk := make([]byte, 16)
	for _, tc := range []struct {
		name, pan, pvki, pin string
		want                 error
	}{
		{"PAN 11 digits", "11223344556", "1", "1234", ErrPAN},
		{"PVKI letter", "1122334455667788", "A", "1234", ErrDigits},
		{"PVKI two digits", "1122334455667788", "11", "1234", ErrDigits},
		{"PIN 3 digits", "1122334455667788", "1", "123", ErrDigits},
		{"PIN 13 digits", "1122334455667788", "1", "1234567890123", ErrDigits},
		{"PIN letter", "1122334455667788", "1", "12D4", ErrDigits},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := PVV(pvk, tc.pan, tc.pvki, tc.pin); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	if _, err := PVV(make([]byte, 5), "1122334455667788", "1", "1234"); !errors.Is(err, ErrKeyLength) {
		t.Errorf("5-byte PVK: err = %v", err)
	}
}

type ibm3624Vector struct {
	sourced
	PVK     string `json:"pvk"`
	Table   string `json:"table"`
	PAN     string `json:"pan"`
	Start   int    `json:"start"`
	Length  int    `json:"length"`
	Pad     string `json:"pad"`
	Natural string `json:"natural"`
	PIN     string `json:"pin"`
	Offset  string `json:"offset"`
}

func TestIBM3624PublishedVectors(t *testing.T) {
	forVectors(t, "ibm3624.json", func(t *testing.T, v ibm3624Vector) {
		pvk := mustHex(t, v.PVK)
		vd, err := PINValidationData(v.PAN, v.Start, v.Length, v.Pad[0])
		if err != nil {
			t.Fatal(err)
		}
		off, err := IBM3624Offset(pvk, v.PIN, vd, v.Table)
		if err != nil {
			t.Fatal(err)
		}
		if off != v.Offset {
			t.Errorf("offset = %s, want %s", off, v.Offset)
		}
		pin, err := IBM3624PIN(pvk, v.Offset, vd, v.Table)
		if err != nil {
			t.Fatal(err)
		}
		if pin != v.PIN {
			t.Errorf("PIN = %s, want %s", pin, v.PIN)
		}
		if v.Natural != "" {
			nat, err := IBM3624NaturalPIN(pvk, vd, v.Table, len(v.Natural))
			if err != nil {
				t.Fatal(err)
			}
			if nat != v.Natural {
				t.Errorf("natural PIN = %s, want %s", nat, v.Natural)
			}
		}
		if ok, err := VerifyIBM3624Offset(pvk, v.PIN, v.Offset, vd, v.Table); err != nil || !ok {
			t.Errorf("VerifyIBM3624Offset = %v, %v", ok, err)
		}
		wrong := []byte(v.PIN)
		wrong[0] = '0' + (wrong[0]-'0'+1)%10
		if ok, err := VerifyIBM3624Offset(pvk, string(wrong), v.Offset, vd, v.Table); err != nil || ok {
			t.Errorf("VerifyIBM3624Offset(wrong PIN) = %v, %v; want false", ok, err)
		}
	})
}

// TestIBM3624WrongLengthIsWrongPIN: a PIN of another length than the one
// set (the offset's) is a wrong PIN, (false, nil), so that the host counts
// it and answers 55, not 96 (issue 12, point 10).
func TestIBM3624WrongLengthIsWrongPIN(t *testing.T) {
	pvk := make([]byte, 16)
	vd := "1122334455667788"
	off, err := IBM3624Offset(pvk, "1234", vd, DefaultDecimalizationTable)
	if err != nil {
		t.Fatal(err)
	}
	for _, pin := range []string{"12345", "123412", "123456789012"} {
		if ok, err := VerifyIBM3624Offset(pvk, pin, off, vd, DefaultDecimalizationTable); ok || err != nil {
			t.Errorf("PIN of %d digits against a 4-digit offset = %v, %v; want false, nil", len(pin), ok, err)
		}
	}
}

func TestIBM3624Rejects(t *testing.T) {
	pvk := make([]byte, 16)
	vd := "1122334455667788"
	for _, tc := range []struct {
		name string
		fn   func() error
		want error
	}{
		{"table 15 digits", func() error { _, err := IBM3624Offset(pvk, "1234", vd, "012345678901234"); return err }, ErrDigits},
		{"table with letter", func() error { _, err := IBM3624Offset(pvk, "1234", vd, "01234567890123A5"); return err }, ErrDigits},
		{"validation data 15", func() error { _, err := IBM3624Offset(pvk, "1234", vd[:15], DefaultDecimalizationTable); return err }, ErrLength},
		{"validation data not hex", func() error {
			_, err := IBM3624Offset(pvk, "1234", "11223344556677GG", DefaultDecimalizationTable)
			return err
		}, ErrHex},
		{"PIN 3 digits", func() error { _, err := IBM3624Offset(pvk, "123", vd, DefaultDecimalizationTable); return err }, ErrDigits},
		{"offset letters", func() error { _, err := IBM3624PIN(pvk, "12A4", vd, DefaultDecimalizationTable); return err }, ErrDigits},
		{"offset 3 digits", func() error {
			_, err := VerifyIBM3624Offset(pvk, "1234", "123", vd, DefaultDecimalizationTable)
			return err
		}, ErrDigits},
		{"validation range outside PAN", func() error { _, err := PINValidationData("1122334455667788", 1, 16, 'F'); return err }, ErrLength},
		{"pad not hex", func() error { _, err := PINValidationData("1122334455667788", 0, 12, 'X'); return err }, ErrHex},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.fn(); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}
