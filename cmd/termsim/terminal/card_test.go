package terminal_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cardhost/cardhost/cmd/termsim/terminal"
	"github.com/cardhost/cardhost/cmd/termsim/terminal/terminaltest"
	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/emv/pinblock"
	"github.com/cardhost/cardhost/emv/tlv"
	"github.com/cardhost/cardhost/iso"
)

func TestChipARQCVerifiesForEveryCVN(t *testing.T) {
	for name, card := range terminaltest.RegistryCards(t) {
		t.Run(name, func(t *testing.T) {
			cr, err := card.Chip(terminal.ChipData{Amount: 2000, Country: "840", Currency: "978", Date: terminaltest.Date, TxnType: "00"}, terminal.ChipTamper{})
			if err != nil {
				t.Fatal(err)
			}
			l, err := tlv.Decode(cr.Field55)
			if err != nil {
				t.Fatal(err)
			}
			tags, err := l.Map()
			if err != nil {
				t.Fatal(err)
			}
			cvn, _ := card.CVN()
			// The host's view: its own derivation of the card key from the IMK.
			mk, _ := emv.DeriveICCMasterKey(terminaltest.MustHex(t, terminaltest.IMK), card.PAN.Reveal(), "01")
			ok, err := emv.VerifyARQC(cvn, mk, tags)
			if err != nil || !ok {
				t.Fatalf("VerifyARQC = %v, %v", ok, err)
			}
			if match, err := cvn.MatchesIAD(tags[tlv.TagIssuerApplicationData]); err != nil || !match {
				t.Errorf("9F10 does not name the card's CVN: %v %v", match, err)
			}
			iad, err := emv.ParseIAD(string(cvn.Scheme), tags[tlv.TagIssuerApplicationData])
			if err != nil {
				t.Fatalf("ParseIAD: %v", err)
			}
			if iad.CVN != cvn.Code {
				t.Errorf("IAD CVN %02X, want %02X", iad.CVN, cvn.Code)
			}
			for tag, want := range map[tlv.Tag]string{
				tlv.TagAmountAuthorised: "000000002000", tlv.TagCurrencyCode: "0978", tlv.TagTerminalCountryCode: "0840",
				tlv.TagTransactionDate: "260621", tlv.TagTransactionType: "00", tlv.TagATC: "0001",
				tlv.TagCryptogramInformationData: "80", tlv.TagAIP: "1800",
			} {
				if got := emv.EncodeHex(tags[tag]); got != want {
					t.Errorf("tag %s = %s, want %s", tag, got, want)
				}
			}
			if len(tags[tlv.TagUnpredictableNumber]) != 4 {
				t.Errorf("9F37 is %d bytes", len(tags[tlv.TagUnpredictableNumber]))
			}
		})
	}
}

func TestChipTamper(t *testing.T) {
	card := terminaltest.Card(t, "VISA", 18)
	mk, _ := emv.DeriveICCMasterKey(terminaltest.MustHex(t, terminaltest.IMK), card.PAN.Reveal(), "01")
	cvn, _ := card.CVN()
	d := terminal.ChipData{Amount: 100, Country: "840", Currency: "840", Date: terminaltest.Date, TxnType: "00"}
	tagsOf := func(t *testing.T, cr *terminal.ChipRequest) map[tlv.Tag][]byte {
		l, err := tlv.Decode(cr.Field55)
		if err != nil {
			t.Fatal(err)
		}
		m, err := l.Map()
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	t.Run("arqc", func(t *testing.T) {
		cr, err := card.Chip(d, terminal.ChipTamper{ARQC: true})
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := emv.VerifyARQC(cvn, mk, tagsOf(t, cr)); err != nil || ok {
			t.Fatalf("tampered ARQC verifies: %v %v", ok, err)
		}
		if !cr.Tampered {
			t.Error("not marked tampered")
		}
	})
	t.Run("cvn", func(t *testing.T) {
		cr, err := card.Chip(d, terminal.ChipTamper{CVN: 10})
		if err != nil {
			t.Fatal(err)
		}
		if match, err := cvn.MatchesIAD(tagsOf(t, cr)[tlv.TagIssuerApplicationData]); err != nil || match {
			t.Fatalf("tampered 9F10 matches the card's CVN: %v %v", match, err)
		}
		if _, err := card.Chip(d, terminal.ChipTamper{CVN: 18}); !errors.Is(err, terminal.ErrCard) {
			t.Errorf("the card's own CVN as mismatch: %v", err)
		}
		if _, err := card.Chip(d, terminal.ChipTamper{CVN: -1}); err != nil {
			t.Errorf("any other CVN: %v", err)
		}
	})
	t.Run("unionpay sm4", func(t *testing.T) {
		up := terminaltest.Card(t, "UNIONPAY", 1)
		upCVN, _ := up.CVN()
		cr, err := up.Chip(d, terminal.ChipTamper{CVN: -1})
		if err != nil {
			t.Fatal(err)
		}
		iad, err := emv.ParseIAD("unionpay", tagsOf(t, cr)[tlv.TagIssuerApplicationData])
		if err != nil || iad.CVN != 0x01 || iad.Algorithm != emv.UnionPayAlgorithmSM4 || !cr.Tampered {
			t.Fatalf("9F10 %+v %v, tampered %v; want CVN 01 naming SM4", iad, err, cr.Tampered)
		}
		if match, err := upCVN.MatchesIAD(tagsOf(t, cr)[tlv.TagIssuerApplicationData]); err != nil || match {
			t.Fatalf("an SM4 9F10 matches UnionPay CVN 01: %v %v", match, err)
		}
		if _, err := up.Chip(d, terminal.ChipTamper{CVN: 18}); !errors.Is(err, terminal.ErrCard) {
			t.Errorf("a Visa CVN on a UnionPay card: %v", err)
		}
	})
	t.Run("cryptogram type", func(t *testing.T) {
		for _, tc := range []struct {
			tamper   terminal.ChipTamper
			cid, cvr emv.CryptogramType
		}{
			{terminal.ChipTamper{}, emv.ARQC, emv.ARQC},
			{terminal.ChipTamper{Cryptogram: "AAC"}, emv.AAC, emv.AAC},
			{terminal.ChipTamper{Cryptogram: "TC"}, emv.TC, emv.TC},
			{terminal.ChipTamper{Cryptogram: "AAC", RelabelARQC: true}, emv.ARQC, emv.AAC},
		} {
			cr, err := card.Chip(d, tc.tamper)
			if err != nil {
				t.Fatal(err)
			}
			tags := tagsOf(t, cr)
			iad, err := emv.ParseIAD("visa", tags[tlv.TagIssuerApplicationData])
			if err != nil {
				t.Fatal(err)
			}
			if got := emv.CIDType(tags[tlv.TagCryptogramInformationData][0]); got != tc.cid || iad.FirstACType() != tc.cvr {
				t.Errorf("%+v: 9F27 says %d, CVR %d; want %d, %d", tc.tamper, got, iad.FirstACType(), tc.cid, tc.cvr)
			}
			if ok, err := emv.VerifyARQC(cvn, mk, tags); err != nil || !ok {
				t.Errorf("%+v: the card's cryptogram does not verify: %v %v", tc.tamper, ok, err)
			}
			if cr.Tampered != (tc.tamper.Cryptogram != "") {
				t.Errorf("%+v: tampered %v", tc.tamper, cr.Tampered)
			}
		}
		if _, err := card.Chip(d, terminal.ChipTamper{Cryptogram: "AAR"}); !errors.Is(err, terminal.ErrCard) {
			t.Errorf("cryptogram AAR: %v", err)
		}
	})
	t.Run("amount and currency", func(t *testing.T) {
		cr, err := card.Chip(d, terminal.ChipTamper{Amount: 5000, Currency: "978"})
		if err != nil {
			t.Fatal(err)
		}
		tags := tagsOf(t, cr)
		if a, c := emv.EncodeHex(tags[tlv.TagAmountAuthorised]), emv.EncodeHex(tags[tlv.TagCurrencyCode]); a != "000000005000" || c != "0978" || !cr.Tampered {
			t.Errorf("9F02 %s, 5F2A %s, tampered %v", a, c, cr.Tampered)
		}
		if ok, err := emv.VerifyARQC(cvn, mk, tags); err != nil || !ok {
			t.Errorf("the cryptogram over the other amount does not verify: %v %v", ok, err)
		}
	})
	t.Run("atc replay", func(t *testing.T) {
		before := card.ATC()
		cr, err := card.Chip(d, terminal.ChipTamper{ATC: 1})
		if err != nil {
			t.Fatal(err)
		}
		if got := emv.EncodeHex(tagsOf(t, cr)[tlv.TagATC]); got != "0001" || cr.ATC != 1 {
			t.Errorf("ATC %s (%d), want 0001", got, cr.ATC)
		}
		if card.ATC() != before {
			t.Errorf("replay moved the card's ATC from %d to %d", before, card.ATC())
		}
		if ok, err := emv.VerifyARQC(cvn, mk, tagsOf(t, cr)); err != nil || !ok {
			t.Errorf("a replayed ATC still makes a genuine ARQC: %v %v", ok, err)
		}
	})
}

func TestCheckARPC(t *testing.T) {
	for name, card := range terminaltest.RegistryCards(t) {
		t.Run(name, func(t *testing.T) {
			mk, _ := emv.DeriveICCMasterKey(terminaltest.MustHex(t, terminaltest.IMK), card.PAN.Reveal(), "01")
			cr, err := card.Chip(terminal.ChipData{Amount: 500, Country: "840", Currency: "840", Date: terminaltest.Date, TxnType: "00"}, terminal.ChipTamper{})
			if err != nil {
				t.Fatal(err)
			}
			approve := terminaltest.IssuerAnswer(t, cr, mk, iso.Approved)
			decline := terminaltest.IssuerAnswer(t, cr, mk, iso.InsufficientFunds)
			flipped := append([]byte(nil), approve...)
			flipped[2] ^= 0x40 // first ARPC byte (after 91 and its length)
			otherMK, _ := emv.DeriveICCMasterKey(terminaltest.MustHex(t, terminaltest.IMK), "4000000000000002", "01")
			wrongKey := terminaltest.IssuerAnswer(t, cr, otherMK, iso.Approved)
			tests := []struct {
				name  string
				code  iso.ResponseCode
				f55   []byte
				want  terminal.ARPCStatus
				words string
			}{
				{"approval", iso.Approved, approve, terminal.ARPCValid, ""},
				{"decline", iso.InsufficientFunds, decline, terminal.ARPCValid, ""},
				{"partial approval", iso.PartialApproval, terminaltest.IssuerAnswer(t, cr, mk, iso.PartialApproval), terminal.ARPCValid, ""},
				{"approval ARPC on a decline", iso.InsufficientFunds, approve, terminal.ARPCInvalid, ""},
				{"flipped ARPC", iso.Approved, flipped, terminal.ARPCInvalid, "does not verify"},
				{"another card's key", iso.Approved, wrongKey, terminal.ARPCInvalid, "does not verify"},
				{"none", iso.Approved, nil, terminal.ARPCAbsent, ""},
				{"field 55 without 91", iso.Approved, []byte{0x8A, 0x02, 0x30, 0x30}, terminal.ARPCAbsent, ""},
				{"garbage", iso.Approved, []byte{0x91, 0x0A, 0x01}, terminal.ARPCInvalid, "not BER-TLV"},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					got := cr.CheckARPC(tc.code, tc.f55)
					if got.Status != tc.want || !strings.Contains(got.Detail, tc.words) {
						t.Errorf("CheckARPC = %+v, want %s (%q)", got, tc.want, tc.words)
					}
				})
			}
		})
	}
}

func TestCheckARPCWrongARCOrCSU(t *testing.T) {
	t.Run("method 1 ARC of another code", func(t *testing.T) {
		card := terminaltest.Card(t, "MASTERCARD", 16)
		mk, _ := emv.DeriveICCMasterKey(terminaltest.MustHex(t, terminaltest.IMK), card.PAN.Reveal(), "01")
		cr, _ := card.Chip(terminal.ChipData{Amount: 1, Country: "840", Currency: "840", Date: terminaltest.Date, TxnType: "00"}, terminal.ChipTamper{})
		got := cr.CheckARPC(iso.Approved, terminaltest.IssuerAnswer(t, cr, mk, iso.InsufficientFunds))
		if got.Status != terminal.ARPCInvalid {
			t.Fatalf("ARC 3531 accepted for 00: %+v", got)
		}
	})
	t.Run("method 2 approving CSU on a decline", func(t *testing.T) {
		card := terminaltest.Card(t, "VISA", 22)
		mk, _ := emv.DeriveICCMasterKey(terminaltest.MustHex(t, terminaltest.IMK), card.PAN.Reveal(), "01")
		cr, _ := card.Chip(terminal.ChipData{Amount: 1, Country: "840", Currency: "840", Date: terminaltest.Date, TxnType: "00"}, terminal.ChipTamper{})
		got := cr.CheckARPC(iso.InsufficientFunds, terminaltest.IssuerAnswer(t, cr, mk, iso.Approved))
		if got.Status != terminal.ARPCInvalid || !strings.Contains(got.Detail, "CSU 00800000") {
			t.Fatalf("approving CSU accepted on a decline: %+v", got)
		}
	})
}

func TestNewCard(t *testing.T) {
	base := terminaltest.CardSpec(t, "VISA", 18)
	tests := []struct {
		name   string
		change func(*terminal.CardSpec)
		words  string // "" = valid
	}{
		{"valid", func(*terminal.CardSpec) {}, ""},
		{"magstripe only", func(s *terminal.CardSpec) { s.CVN, s.ICCMasterKeyAC = 0, "" }, ""},
		{"network from PAN", func(s *terminal.CardSpec) { s.Network = "" }, ""},
		{"short PAN", func(s *terminal.CardSpec) { s.PAN = "41111" }, "pan"},
		{"bad expiry month", func(s *terminal.CardSpec) { s.Expiry = "3013" }, "expiry"},
		{"bad PSN", func(s *terminal.CardSpec) { s.PSN = "1" }, "psn"},
		{"unknown CVN", func(s *terminal.CardSpec) { s.CVN = 16 }, "no CVN 16"},
		{"short key", func(s *terminal.CardSpec) { s.ICCMasterKeyAC = "0123" }, "icc_master_key_ac"},
		{"bad network", func(s *terminal.CardSpec) { s.Network = "AMEX" }, "network"},
		{"short PIN", func(s *terminal.CardSpec) { s.PIN = "12" }, "pin"},
		{"track of another PAN", func(s *terminal.CardSpec) { s.Track2 = "4000000000000002=30122011432112300000" }, "track2"},
		{"ATC too high", func(s *terminal.CardSpec) { s.ATC = 70000 }, "atc"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := base
			tc.change(&s)
			c, err := terminal.NewCard(s)
			if tc.words == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, terminal.ErrCard) || !strings.Contains(err.Error(), tc.words) {
				t.Fatalf("NewCard = %v, %v; want ErrCard about %q", c, err, tc.words)
			}
			if strings.Contains(err.Error(), s.PAN) || (s.ICCMasterKeyAC != "" && strings.Contains(err.Error(), s.ICCMasterKeyAC)) {
				t.Errorf("error shows card data: %v", err)
			}
		})
	}
}

func TestCardTracks(t *testing.T) {
	s := terminaltest.CardSpec(t, "VISA", 18)
	c, err := terminal.NewCard(s)
	if err != nil {
		t.Fatal(err)
	}
	want := s.PAN + "=3012201" + "1" + "4321" + s.CVV + "00000"
	if c.Track2.Reveal() != want {
		t.Errorf("track 2 = %s, want %s", c.Track2.Reveal(), want)
	}
	wantChip := s.PAN + "=3012201" + "1" + "4321" + s.ICVV + "00000"
	if c.ChipTrack2.Reveal() != wantChip {
		t.Errorf("chip track 2 = %s, want %s", c.ChipTrack2.Reveal(), wantChip)
	}
	// A literal track 2 with an iCVV: the chip's is the stripe's with the
	// iCVV in the CVV place.
	s2 := s
	s2.Track2, s2.CVV = want, ""
	c2, err := terminal.NewCard(s2)
	if err != nil {
		t.Fatal(err)
	}
	if c2.ChipTrack2.Reveal() != wantChip {
		t.Errorf("chip track 2 from literal track 2 = %s, want %s", c2.ChipTrack2.Reveal(), wantChip)
	}
	// The card prints no card data.
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%v %+v", c.Track2, c.CVV2), c.String()} {
		if strings.Contains(s, c.PAN.Reveal()) || strings.Contains(s, c.CVV2.Reveal()+"]") {
			t.Errorf("card data printed: %s", s)
		}
	}
}

func TestPINBlock(t *testing.T) {
	c := terminaltest.Card(t, "VISA", 18)
	zpk := terminaltest.MustHex(t, terminal.DefaultZPKHex)
	for _, f := range []pinblock.Format{pinblock.Format0, pinblock.Format1, pinblock.Format3} {
		t.Run(f.String(), func(t *testing.T) {
			pb, err := c.PINBlock("1234", f, zpk)
			if err != nil {
				t.Fatal(err)
			}
			blk, _ := emv.NewTDES(zpk)
			pin, err := pinblock.Decipher(pinblock.FormatAny, blk, terminaltest.MustHex(t, pb.Reveal()), c.PAN.Reveal())
			if err != nil || string(pin) != "1234" {
				t.Fatalf("deciphered %q, %v", pin, err)
			}
			if len(pb.Reveal()) != 16 || strings.ToUpper(pb.Reveal()) != pb.Reveal() {
				t.Errorf("block %d characters, not upper-case hex", len(pb.Reveal()))
			}
		})
	}
	if _, err := c.PINBlock("1234", pinblock.Format4, zpk); !errors.Is(err, terminal.ErrCard) {
		t.Errorf("format 4: %v", err)
	}
}

func TestParseCardFile(t *testing.T) {
	s := terminaltest.CardSpec(t, "VISA", 10)
	yamlFile := fmt.Sprintf("# a Visa CVN 10 test card\npan: %s\nexpiry: \"3012\"\npsn: \"01\"\nnetwork: visa\ncvn: 10\nicc_master_key_ac: %s\ncvv: %q\nicvv: %q\ncvv2: %q\npin: %q\natc: 41\n",
		s.PAN, s.ICCMasterKeyAC, s.CVV, s.ICVV, s.CVV2, s.PIN)
	jsonFile := fmt.Sprintf(`{"pan": %q, "expiry": "3012", "psn": "01", "network": "VISA", "cvn": 10, "icc_master_key_ac": %q, "cvv": %q, "icvv": %q, "atc": 41}`,
		s.PAN, s.ICCMasterKeyAC, s.CVV, s.ICVV)
	for name, data := range map[string]string{"yaml": yamlFile, "json": jsonFile} {
		t.Run(name, func(t *testing.T) {
			c, err := terminal.ParseCardFile([]byte(data))
			if err != nil {
				t.Fatal(err)
			}
			if cvn, ok := c.CVN(); !ok || cvn.Number != 10 || c.ATC() != 41 || c.PAN.Reveal() != s.PAN || c.PSN != "01" {
				t.Errorf("card %v ATC %d PSN %q", c, c.ATC(), c.PSN)
			}
		})
	}
	bad := []struct{ name, data, words string }{
		{"unknown member", "pan: \"4761739001010010\"\nexpiry: \"3012\"\ncolour: blue\n", "line 3: field colour not found"},
		{"wrong type", "pan: \"4761739001010010\"\nexpiry: \"3012\"\ncvn: eighteen\n", "line 3: cannot unmarshal !!str into int"},
		{"empty", "", "empty card file"},
		{"missing pan", "expiry: \"3012\"\n", "pan"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := terminal.ParseCardFile([]byte(tc.data))
			if !errors.Is(err, terminal.ErrCard) || !strings.Contains(err.Error(), tc.words) {
				t.Fatalf("ParseCardFile = %v, want ErrCard with %q", err, tc.words)
			}
		})
	}
	t.Run("values are not quoted in errors", func(t *testing.T) {
		_, err := terminal.ParseCardFile([]byte("pan: \"4761739001010010\"\nexpiry: \"3012\"\natc: \"4761739001010010\"\n"))
		if err == nil || strings.Contains(err.Error(), "4761739001010010") {
			t.Fatalf("error %v", err)
		}
	})
}

func TestCardStatePersistsATC(t *testing.T) {
	s := terminaltest.CardSpec(t, "MASTERCARD", 21)
	path := filepath.Join(t.TempDir(), "mc21.yaml")
	data := fmt.Sprintf("pan: %q\nexpiry: \"3012\"\npsn: \"01\"\ncvn: 21\nicc_master_key_ac: %s\natc: 5\n", s.PAN, s.ICCMasterKeyAC)
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := terminal.LoadCard(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.ATC() != 5 || c.Network != emv.NetworkMastercard {
		t.Fatalf("ATC %d network %s", c.ATC(), c.Network)
	}
	for range 3 {
		if _, err := c.Chip(terminal.ChipData{Amount: 1, Country: "840", Currency: "840", Date: terminaltest.Date, TxnType: "00"}, terminal.ChipTamper{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.SaveState(); err != nil {
		t.Fatal(err)
	}
	again, err := terminal.LoadCard(path)
	if err != nil {
		t.Fatal(err)
	}
	if again.ATC() != 8 {
		t.Fatalf("reloaded ATC %d, want 8", again.ATC())
	}
	next, _ := again.NextATC()
	if next != 9 {
		t.Errorf("next ATC %d, want 9", next)
	}
	if err := os.WriteFile(path+terminal.StateSuffix, []byte("{\"atc\": -1}"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := terminal.LoadCard(path); !errors.Is(err, terminal.ErrCard) {
		t.Errorf("bad state file: %v", err)
	}
}

func TestATCExhausted(t *testing.T) {
	c := terminaltest.Card(t, "VISA", 18)
	if err := c.SetATC(terminal.MaxATC); err != nil {
		t.Fatal(err)
	}
	_, err := c.Chip(terminal.ChipData{Amount: 1, Country: "840", Currency: "840", Date: terminaltest.Date, TxnType: "00"}, terminal.ChipTamper{})
	if !errors.Is(err, terminal.ErrATCExhausted) {
		t.Fatalf("Chip at MaxATC = %v", err)
	}
	spec := terminaltest.CardSpec(t, "VISA", 0)
	spec.ICCMasterKeyAC = ""
	stripe, err := terminal.NewCard(spec)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stripe.Chip(terminal.ChipData{}, terminal.ChipTamper{}); !errors.Is(err, terminal.ErrNoChip) {
		t.Errorf("card without chip: %v", err)
	}
}

func TestDefaultKeysAreTheSandboxKeys(t *testing.T) {
	kcv, err := emv.KCV(emv.AlgorithmTDES, terminaltest.MustHex(t, terminal.DefaultZPKHex))
	if err != nil || emv.EncodeHex(kcv) != terminal.DefaultZPKKCV {
		t.Fatalf("ZPK KCV %X, %v; want %s", kcv, err, terminal.DefaultZPKKCV)
	}
	kcv, err = emv.KCV(emv.AlgorithmTDES, terminaltest.MustHex(t, terminal.DefaultZAKHex))
	if err != nil || emv.EncodeHex(kcv) != terminal.DefaultZAKKCV {
		t.Fatalf("ZAK KCV %X, %v; want %s", kcv, err, terminal.DefaultZAKKCV)
	}
}

// TestUnionPayCardFromPAN: a card file with a 62 PAN and no network is a
// UnionPay card, whose CVN 1 chip makes an ARQC the host's derivation
// verifies; a PAN of no known network needs the network named.
func TestUnionPayCardFromPAN(t *testing.T) {
	s := terminaltest.CardSpec(t, "UNIONPAY", 1)
	c, err := terminal.ParseCardFile([]byte(fmt.Sprintf("pan: %q\nexpiry: \"3012\"\npsn: \"01\"\ncvn: 1\nicc_master_key_ac: %s\n", s.PAN, s.ICCMasterKeyAC)))
	if err != nil {
		t.Fatal(err)
	}
	if c.Network != emv.NetworkUnionPay {
		t.Fatalf("network %s, want UNIONPAY", c.Network)
	}
	cr, err := c.Chip(terminal.ChipData{Amount: 1, Country: "156", Currency: "156", Date: terminaltest.Date, TxnType: "00"}, terminal.ChipTamper{})
	if err != nil {
		t.Fatal(err)
	}
	l, _ := tlv.Decode(cr.Field55)
	tags, _ := l.Map()
	cvn, _ := emv.LookupCVN("unionpay", 1)
	mk, _ := emv.DeriveICCMasterKeyA(terminaltest.MustHex(t, terminaltest.IMK), s.PAN, "01")
	if ok, err := emv.VerifyARQC(cvn, mk, tags); err != nil || !ok {
		t.Fatalf("VerifyARQC = %v, %v", ok, err)
	}
	if _, err := terminal.NewCard(terminal.CardSpec{PAN: "6011000000000004", Expiry: "3012"}); !errors.Is(err, terminal.ErrCard) {
		t.Fatalf("a Discover PAN without network: %v", err)
	}
}
