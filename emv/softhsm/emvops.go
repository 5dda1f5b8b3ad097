package softhsm

import (
	"context"
	"crypto/subtle"
	"fmt"

	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/emv/tlv"
)

// ARQC is an alias of [emv.ARQCCheck], so that consumers can name it without importing this package.
type ARQC = emv.ARQCCheck

// ARQCResult is an alias of [emv.ARQCResult], so that consumers can name it without importing this package.
type ARQCResult = emv.ARQCResult

// VerifyARQC checks the card's ARQC (9F26): it derives the ICC master key
// from the IMK-AC (EMV option A/B per the CVN), the session key per the
// CVN, and recomputes the cryptogram. Retired IMK versions still inside
// their UsableUntil are tried after the active one. Errors: ErrKeyNotFound,
// ErrKeyUsage (not an IMK-AC), ErrKeyExpired, ErrInvalidInput (PAN/PSN),
// and emv errors for missing or malformed chip data (emv.ErrMissingTag,
// emv.ErrLength, emv.ErrIAD).
func (h *HSM) VerifyARQC(ctx context.Context, a ARQC) (ARQCResult, error) {
	var res ARQCResult
	v, err := h.eachVerifiable(ctx, a.IMKRef, opARQC, func(k *key) (bool, error) {
		mk, err := emv.DeriveICCMasterKeyWith(k.block, a.CVN.MKD, a.PAN.Reveal(), a.PSN)
		if err != nil {
			return false, fmt.Errorf("verifying ARQC: %w: %w", ErrInvalidInput, err)
		}
		defer mk.Wipe()
		s, err := emv.NewACSession(a.CVN, mk, a.ICC)
		if err != nil {
			return false, fmt.Errorf("verifying ARQC: %w", err)
		}
		arqc, ok := a.ICC[tlv.Tag(emv.TagCryptogram)]
		if !ok {
			return false, fmt.Errorf("verifying ARQC: %w", emv.ErrMissingTag)
		}
		if len(arqc) != 8 {
			return false, fmt.Errorf("verifying ARQC: cryptogram of %d bytes: %w", len(arqc), emv.ErrLength)
		}
		if subtle.ConstantTimeCompare(s.GenerateAC(), arqc) != 1 {
			return false, nil
		}
		res.Session = s
		return true, nil
	})
	if err != nil {
		return ARQCResult{}, err
	}
	res.Valid = v != 0
	res.KeyVersion = v
	if !res.Valid {
		res.Session = nil
	}
	return res, nil
}

// GenerateARPC returns the value of tag 91 (issuer authentication data) for
// a verified ARQC: ARPC || ARC for method 1, ARPC || CSU for method 2, per
// the CVN. responseCode is the ISO 8583 response code (the ARC is its two
// ASCII characters); the method 2 CSU says approved for "00" and "10".
// keyVersion is ARQCResult.KeyVersion (0: the active version).
func (h *HSM) GenerateARPC(ctx context.Context, a ARQC, keyVersion int, responseCode string) ([]byte, error) {
	if len(responseCode) != 2 {
		return nil, fmt.Errorf("generating ARPC: response code: %w", ErrInvalidInput)
	}
	in := emv.ARPCInput{ARC: emv.ARC(responseCode), CSU: emv.CSU(responseCode == "00" || responseCode == "10")}
	if s := a.Session; s != nil && s.CVN() == a.CVN {
		arpc, err := s.GenerateARPC(in)
		if err != nil {
			return nil, fmt.Errorf("generating ARPC: %w", err)
		}
		iad, err := emv.IssuerAuthenticationData(a.CVN, arpc, in)
		if err != nil {
			return nil, fmt.Errorf("generating ARPC: %w", err)
		}
		return iad, nil
	}
	var iad []byte
	err := h.withVersion(ctx, a.IMKRef, keyVersion, opARQC, func(k *key) error {
		mk, err := emv.DeriveICCMasterKeyWith(k.block, a.CVN.MKD, a.PAN.Reveal(), a.PSN)
		if err != nil {
			return fmt.Errorf("generating ARPC: %w: %w", ErrInvalidInput, err)
		}
		defer mk.Wipe()
		arpc, err := emv.GenerateARPC(a.CVN, mk, a.ICC, in)
		if err != nil {
			return fmt.Errorf("generating ARPC: %w", err)
		}
		iad, err = emv.IssuerAuthenticationData(a.CVN, arpc, in)
		if err != nil {
			return fmt.Errorf("generating ARPC: %w", err)
		}
		return nil
	})
	return iad, err
}

// Service codes the CVV variants are computed with.
const (
	serviceCodeICVV = "999"
	serviceCodeCVV2 = "000"
)

// VerifyCVV checks a magnetic-stripe CVV (track 2) for pan, expiry (YYMM)
// and the track's service code under the CVK. false is a decline.
func (h *HSM) VerifyCVV(ctx context.Context, cvkRef string, pan emv.PAN, expiry, serviceCode string, cvv emv.CVV) (bool, error) {
	return h.verifyCVV(ctx, cvkRef, pan, expiry, serviceCode, cvv)
}

// VerifyICVV checks the iCVV carried in a chip card's track 2 equivalent
// (the CVV with service code 999).
func (h *HSM) VerifyICVV(ctx context.Context, cvkRef string, pan emv.PAN, expiry string, icvv emv.CVV) (bool, error) {
	return h.verifyCVV(ctx, cvkRef, pan, expiry, serviceCodeICVV, icvv)
}

// VerifyCVV2 checks the printed CVV2 (the CVV with service code 000).
func (h *HSM) VerifyCVV2(ctx context.Context, cvkRef string, pan emv.PAN, expiry string, cvv2 emv.CVV) (bool, error) {
	return h.verifyCVV(ctx, cvkRef, pan, expiry, serviceCodeCVV2, cvv2)
}

func (h *HSM) verifyCVV(ctx context.Context, cvkRef string, pan emv.PAN, expiry, sc string, cvv emv.CVV) (bool, error) {
	v, err := h.eachVerifiable(ctx, cvkRef, opCVV, func(k *key) (bool, error) {
		ok, err := emv.VerifyCVVWith(k.block, pan.Reveal(), expiry, sc, cvv.Reveal())
		if err != nil {
			return false, fmt.Errorf("verifying CVV: %w: %w", ErrInvalidInput, err)
		}
		return ok, nil
	})
	return v != 0, err
}

// CVVSet is an alias of [emv.CVVSet], so that consumers can name it without importing this package.
type CVVSet = emv.CVVSet

// GenerateCVVSet computes CVV (with serviceCode), iCVV and CVV2 for a card
// under the active CVK version.
func (h *HSM) GenerateCVVSet(ctx context.Context, cvkRef string, pan emv.PAN, expiry, serviceCode string) (CVVSet, error) {
	var set CVVSet
	err := h.withActive(ctx, cvkRef, opCVV, func(k *key) error {
		var err error
		p := pan.Reveal()
		if set.CVV, err = emv.GenerateCVV(k.raw, p, expiry, serviceCode); err != nil {
			return fmt.Errorf("generating CVV: %w: %w", ErrInvalidInput, err)
		}
		if set.ICVV, err = emv.GenerateICVV(k.raw, p, expiry); err != nil {
			return fmt.Errorf("generating iCVV: %w: %w", ErrInvalidInput, err)
		}
		if set.CVV2, err = emv.GenerateCVV2(k.raw, p, expiry); err != nil {
			return fmt.Errorf("generating CVV2: %w: %w", ErrInvalidInput, err)
		}
		set.KeyVersion = k.rec.Version
		return nil
	})
	return set, err
}

// RevealCVV2 recomputes a card's CVV2 for the audited reveal call, with the
// given CVK version (0: active; the version recorded at data prep keeps
// working after rotation while it is usable).
func (h *HSM) RevealCVV2(ctx context.Context, cvkRef string, version int, pan emv.PAN, expiry string) (emv.CVV, error) {
	var out emv.CVV
	err := h.withVersion(ctx, cvkRef, version, opCVV, func(k *key) error {
		var err error
		if out, err = emv.GenerateCVV2(k.raw, pan.Reveal(), expiry); err != nil {
			return fmt.Errorf("revealing CVV2: %w: %w", ErrInvalidInput, err)
		}
		return nil
	})
	return out, err
}

// ICCKeyRequest is an alias of [emv.ICCKeyRequest], so that consumers can name it without importing this package.
type ICCKeyRequest = emv.ICCKeyRequest

// ExportedKey is an alias of [emv.ExportedKey], so that consumers can name it without importing this package.
type ExportedKey = emv.ExportedKey

// ICCKeys is an alias of [emv.ICCKeys], so that consumers can name it without importing this package.
type ICCKeys = emv.ICCKeys

// DeriveICCKeys derives a card's ICC master keys (MK-AC, MK-SMI, MK-SMC)
// from the issuer master keys for personalisation and returns them as TR-31
// key blocks under the KEK (usage E0/E2/E1, algorithm T, mode N,
// non-exportable). The clear ICC keys never leave the HSM.
func (h *HSM) DeriveICCKeys(ctx context.Context, req ICCKeyRequest) (ICCKeys, error) {
	var out ICCKeys
	if err := h.checkType(ctx, req.KEKRef, opWrap); err != nil {
		return out, err
	}
	dst := map[string]*ExportedKey{"ac": &out.AC, "smi": &out.SMI, "smc": &out.SMC}
	err := h.eachICCMasterKey(ctx, req, "deriving ICC keys", func(name string, k *key, mk emv.SecretBytes) error {
		hdr := TR31Header{Usage: k.rec.Usage, Algorithm: 'T', ModeOfUse: 'N', KeyVersion: "00", Exportability: 'N'}
		var err error
		*dst[name], err = h.wrapUnderKEK(ctx, req.KEKRef, hdr, mk, emv.KeySpecTDES2)
		return err
	})
	if err != nil {
		return ICCKeys{}, err
	}
	return out, nil
}

// eachICCMasterKey derives the card's ICC master key under each issuer
// master key req names (IMK-AC required; IMK-SMI and IMK-SMC when set) and
// hands it to fn with the step's name ("ac", "smi", "smc") and the IMK;
// the key is wiped when fn returns. what prefixes the missing-IMK error.
func (h *HSM) eachICCMasterKey(ctx context.Context, req ICCKeyRequest, what string, fn func(name string, imk *key, mk emv.SecretBytes) error) error {
	for i, s := range []struct{ name, ref string }{{"ac", req.IMKAC}, {"smi", req.IMKSMI}, {"smc", req.IMKSMC}} {
		if s.ref == "" {
			if i == 0 {
				return fmt.Errorf("%s: IMK-AC required: %w", what, ErrInvalidInput)
			}
			continue
		}
		err := h.withActive(ctx, s.ref, opDeriveICC, func(k *key) error {
			mk, err := emv.DeriveICCMasterKeyWith(k.block, req.MKD, req.PAN.Reveal(), req.PSN)
			if err != nil {
				return fmt.Errorf("deriving ICC key: %w: %w", ErrInvalidInput, err)
			}
			defer mk.Wipe()
			return fn(s.name, k, mk)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// wrapUnderKEK exports clear material under the active KEK version.
func (h *HSM) wrapUnderKEK(ctx context.Context, kekRef string, hdr TR31Header, clear []byte, spec emv.KeySpec) (ExportedKey, error) {
	var out ExportedKey
	kcv, err := checkValue(spec, clear)
	if err != nil {
		return out, err
	}
	err = h.withActive(ctx, kekRef, opWrap, func(kek *key) error {
		if !isAES(kek.rec.Spec) {
			return fmt.Errorf("exporting under %s: %w", kekRef, ErrNotExportable)
		}
		block, err := WrapTR31(kek.raw, hdr, clear, h.rand)
		if err != nil {
			return err
		}
		out = ExportedKey{KeyBlock: block, KCV: kcv, KEKVersion: kek.rec.Version}
		return nil
	})
	return out, err
}

// ExportKey exports the active version of ref as a TR-31 key block under the
// KEK kekRef (key block ceremony, or working keys for a partner). CA, ECDH,
// PAN-DEK, PAN-IDX and KEK keys never leave (ErrNotExportable).
func (h *HSM) ExportKey(ctx context.Context, ref, kekRef string) (ExportedKey, error) {
	f, err := h.resolve(ctx, ref)
	if err != nil {
		return ExportedKey{}, err
	}
	rule := keyRules[f.typ]
	if !rule.exportable {
		return ExportedKey{}, fmt.Errorf("exporting %s (%s): %w", ref, f.typ, ErrNotExportable)
	}
	if f.active == 0 {
		return ExportedKey{}, fmt.Errorf("exporting %s: no active version: %w", ref, ErrKeyExpired)
	}
	k, err := h.load(ctx, ref, f.active)
	if err != nil {
		return ExportedKey{}, err
	}
	defer h.release(k)
	alg := byte('T')
	if isAES(k.rec.Spec) {
		alg = 'A'
	}
	mode := byte('N')
	switch k.rec.Type {
	case emv.KeyIMKAC, emv.KeyIMKSMI, emv.KeyIMKSMC:
		mode = 'X'
	case emv.KeyCVK, emv.KeyPVK, emv.KeyZAK:
		mode = 'C'
	case emv.KeyZPK:
		mode = 'B'
	}
	hdr := TR31Header{Usage: k.rec.Usage, Algorithm: alg, ModeOfUse: mode, KeyVersion: "00", Exportability: 'N'}
	return h.wrapUnderKEK(ctx, kekRef, hdr, k.raw, k.rec.Spec)
}

// GenerateMAC computes the ISO/IEC 9797-1 MAC algorithm 3 (retail MAC)
// of data with version of the ZAK (0: the active one; a retired version
// while it is usable for verification, so that the answer to a message
// MACed under it is MACed under it too), padding method 2, and returns the
// full 8 bytes. Errors: ErrKeyNotFound, ErrKeyUsage (not a ZAK),
// ErrKeyExpired.
func (h *HSM) GenerateMAC(ctx context.Context, zakRef string, version int, data []byte) ([]byte, error) {
	var mac []byte
	fn := func(k *key) error {
		var err error
		mac, err = emv.MACAlgorithm3(k.raw, data, emv.PaddingMethod2)
		if err != nil {
			return fmt.Errorf("generating MAC: %w", err)
		}
		return nil
	}
	if version == 0 {
		return mac, h.withActive(ctx, zakRef, opMAC, fn)
	}
	return mac, h.withVersion(ctx, zakRef, version, opMAC, fn)
}

// VerifyMAC checks mac (8 bytes) as the ISO/IEC 9797-1 MAC algorithm 3 of
// data (padding method 2) under the ZAK: the active version first, then
// every retired version still usable for verification, so that an
// acquirer that has not yet changed to a rotated key keeps working. It
// returns the version that verified, 0 for a wrong MAC (a decline, not an
// error). Errors: ErrKeyNotFound, ErrKeyUsage (not a ZAK), ErrKeyExpired,
// ErrInvalidInput (mac is not 8 bytes).
func (h *HSM) VerifyMAC(ctx context.Context, zakRef string, data, mac []byte) (int, error) {
	if len(mac) != 8 {
		return 0, fmt.Errorf("verifying MAC: %d bytes, want 8: %w", len(mac), ErrInvalidInput)
	}
	return h.eachVerifiable(ctx, zakRef, opMAC, func(k *key) (bool, error) {
		want, err := emv.MACAlgorithm3(k.raw, data, emv.PaddingMethod2)
		if err != nil {
			return false, fmt.Errorf("verifying MAC: %w", err)
		}
		return subtle.ConstantTimeCompare(want, mac) == 1, nil
	})
}
