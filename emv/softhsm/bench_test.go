package softhsm_test

import (
	"context"
	"testing"

	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/emv/pinblock"
	"github.com/cardhost/cardhost/emv/softhsm"
)

// Benchmarks run with a warm cache: the first call unwraps and caches the
// key, the loop measures the operation itself.

func BenchmarkVerifyARQCAndARPC(b *testing.B) {
	for _, n := range []int{10, 18} {
		cvn, err := emv.LookupCVN("visa", n)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(cvn.String(), func(b *testing.B) {
			f := newFixture(b)
			ctx := context.Background()
			imk := unhex(b, imkHex)
			info := f.importKey(b, emv.KeyIMKAC, emv.KeySpecTDES2, imk)
			pan := emv.PAN("4761739001010010")
			mk, err := emv.DeriveICCMasterKeyWith(mustTDES(b, imk), cvn.MKD, pan.Reveal(), "01")
			if err != nil {
				b.Fatal(err)
			}
			req := softhsm.ARQC{IMKRef: info.Ref, CVN: cvn, PAN: pan, PSN: "01", ICC: chipData(b, cvn, mk)}
			if res, err := f.hsm.VerifyARQC(ctx, req); err != nil || !res.Valid {
				b.Fatalf("warm-up: %v %v", res, err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				res, err := f.hsm.VerifyARQC(ctx, req)
				if err != nil || !res.Valid {
					b.Fatal("ARQC did not verify")
				}
				withSession := req
				withSession.Session = res.Session // as the host does: no second key derivation
				if _, err := f.hsm.GenerateARPC(ctx, withSession, res.KeyVersion, "00"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkVerifyCVV2(b *testing.B) {
	f := newFixture(b)
	ctx := context.Background()
	info := f.importKey(b, emv.KeyCVK, emv.KeySpecTDES2, unhex(b, cvkHex))
	pan := emv.PAN("4123456789012345")
	cvv2, err := emv.GenerateCVV2(unhex(b, cvkHex), pan.Reveal(), "2912")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		ok, err := f.hsm.VerifyCVV2(ctx, info.Ref, pan, "2912", cvv2)
		if err != nil || !ok {
			b.Fatal("CVV2 did not verify")
		}
	}
}

func BenchmarkTranslatePIN(b *testing.B) {
	f := newFixture(b)
	ctx := context.Background()
	zpkA := unhex(b, zpkHex)
	a := f.importKey(b, emv.KeyZPK, emv.KeySpecTDES2, zpkA)
	c := f.importKey(b, emv.KeyZPK, emv.KeySpecTDES2, unhex(b, imkHex))
	pan := emv.PAN("4123456789012345")
	in := softhsm.EncryptedPIN{ZPKRef: a.Ref, Format: pinblock.Format0, Block: encipherPIN(b, pinblock.Format0, zpkA, "1234", pan.Reveal())}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.hsm.TranslatePIN(ctx, in, pan, c.Ref, pinblock.Format0); err != nil {
			b.Fatal(err)
		}
	}
}
