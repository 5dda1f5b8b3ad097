package softhsm

import (
	"context"
	"errors"
	"fmt"

	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/emv/pinblock"
)

// EncryptedPIN is an alias of [emv.EncryptedPIN], so that consumers can name it without importing this package.
type EncryptedPIN = emv.EncryptedPIN

// TranslatePIN re-enciphers a PIN block from one ZPK (and format) to another
// without the PIN leaving the HSM. pan binds formats 0, 3 and 4. A block
// that does not decode gives ErrPINBlock.
func (h *HSM) TranslatePIN(ctx context.Context, in EncryptedPIN, pan emv.PAN, outZPK string, outFormat pinblock.Format) (emv.PINBlock, error) {
	var out emv.PINBlock
	if err := h.checkType(ctx, outZPK, opPINBlock); err != nil {
		return "", err
	}
	err := h.withClearPIN(ctx, in, pan, func(pin []byte) error {
		return h.withActive(ctx, outZPK, opPINBlock, func(k *key) error {
			b, err := pinblock.Encipher(outFormat, k.block, pin, pan.Reveal(), h.rand)
			if err != nil {
				return fmt.Errorf("translating PIN block: %w: %w", ErrInvalidInput, err)
			}
			out = emv.PINBlock(emv.EncodeHex(b))
			return nil
		})
	})
	return out, err
}

// withClearPIN deciphers in with its ZPK (any usable version), runs fn with
// the PIN digits and wipes them. A block in a format in.Accept refuses
// gives an error wrapping pinblock.ErrNotAccepted.
func (h *HSM) withClearPIN(ctx context.Context, in EncryptedPIN, pan emv.PAN, fn func(pin []byte) error) error {
	block, err := emv.DecodeHex(in.Block.Reveal())
	if err != nil {
		return fmt.Errorf("reading PIN block: %w", ErrPINBlock)
	}
	var pin []byte
	var lastErr, refused error
	_, err = h.eachVerifiable(ctx, in.ZPKRef, opPINBlock, func(k *key) (bool, error) {
		var p []byte
		var err error
		if in.Format == pinblock.FormatAny {
			p, _, err = pinblock.DecipherAny(in.Accept, k.block, block, pan.Reveal())
		} else {
			p, err = pinblock.Decipher(in.Format, k.block, block, pan.Reveal())
		}
		switch {
		case err == nil:
			pin = p
			return true, nil
		case errors.Is(err, pinblock.ErrNotAccepted):
			// Readable under this version, in a refused format; another
			// version may still read it in an accepted one.
			refused = fmt.Errorf("deciphering PIN block: %w", err)
			return false, nil
		case errors.Is(err, pinblock.ErrMalformed):
			lastErr = fmt.Errorf("deciphering PIN block: %w: %w", ErrPINBlock, err)
			return false, nil // maybe another (retired) version
		case errors.Is(err, pinblock.ErrCipher), errors.Is(err, pinblock.ErrFormat):
			return false, fmt.Errorf("deciphering PIN block: format %s with %s key: %w", in.Format, k.rec.Spec, ErrInvalidInput)
		default:
			return false, fmt.Errorf("deciphering PIN block: %w: %w", ErrInvalidInput, err)
		}
	})
	if err != nil {
		return err
	}
	if pin == nil {
		if refused != nil {
			return refused
		}
		return lastErr
	}
	defer emv.SecretBytes(pin).Wipe()
	return fn(pin)
}

// PINMethod is an alias of [emv.PINMethod], so that consumers can name it without importing this package.
type PINMethod = emv.PINMethod

// PIN verification methods (aliases of emv's).
const (
	PINMethodPVV     = emv.PINMethodPVV
	PINMethodIBM3624 = emv.PINMethodIBM3624
)

// PINCheck is an alias of [emv.PINCheck], so that consumers can name it without importing this package.
type PINCheck = emv.PINCheck

const defaultDecTable = "0123456789012345"

func pinValidation(c PINCheck, pan string) (string, string, error) {
	dt := c.DecTable
	if dt == "" {
		dt = defaultDecTable
	}
	vd := c.ValidationData
	if vd == "" {
		if len(pan) < 13 {
			return "", "", fmt.Errorf("IBM 3624 validation data: %w", ErrInvalidInput)
		}
		var err error
		vd, err = emv.PINValidationData(pan, len(pan)-13, 12, 'F')
		if err != nil {
			return "", "", fmt.Errorf("IBM 3624 validation data: %w: %w", ErrInvalidInput, err)
		}
	}
	return vd, dt, nil
}

// VerifyPIN deciphers the PIN block under its ZPK and checks the PIN with
// the PVK by the method in c. It returns false for a wrong PIN (decline
// pin_invalid). A block that does not decode gives an error wrapping
// ErrPINBlock, which the host also treats as pin_invalid; a block in a
// format in.Accept does not list, an error wrapping
// pinblock.ErrNotAccepted (the PIN is not checked).
func (h *HSM) VerifyPIN(ctx context.Context, in EncryptedPIN, pan emv.PAN, c PINCheck) (bool, error) {
	return onClearPIN(ctx, h, in, pan, c, h.checkPIN)
}

// onClearPIN checks that c names a PVK, deciphers the PIN block under its
// ZPK and runs fn on the clear PIN (wiped afterwards) and the PAN.
func onClearPIN[T any](ctx context.Context, h *HSM, in EncryptedPIN, pan emv.PAN, c PINCheck,
	fn func(ctx context.Context, pin, pan string, c PINCheck) (T, error)) (T, error) {
	var out T
	if err := h.checkType(ctx, c.PVKRef, opPINVerify); err != nil {
		return out, err
	}
	err := h.withClearPIN(ctx, in, pan, func(pin []byte) error {
		var err error
		out, err = fn(ctx, string(pin), pan.Reveal(), c)
		return err
	})
	return out, err
}

func (h *HSM) checkPIN(ctx context.Context, pin, pan string, c PINCheck) (bool, error) {
	v, err := h.eachVerifiable(ctx, c.PVKRef, opPINVerify, func(k *key) (bool, error) {
		switch c.Method {
		case PINMethodPVV:
			ok, err := emv.VerifyPVV(k.raw, pan, c.PVKI, pin, c.PVV)
			if err != nil {
				return false, fmt.Errorf("verifying PVV: %w: %w", ErrInvalidInput, err)
			}
			return ok, nil
		case PINMethodIBM3624:
			vd, dt, err := pinValidation(c, pan)
			if err != nil {
				return false, err
			}
			ok, err := emv.VerifyIBM3624Offset(k.raw, pin, c.Offset, vd, dt)
			if err != nil {
				return false, fmt.Errorf("verifying IBM 3624 offset: %w: %w", ErrInvalidInput, err)
			}
			return ok, nil
		}
		return false, fmt.Errorf("verifying PIN: method %q: %w", c.Method, ErrInvalidInput)
	})
	return v != 0, err
}

// PINVerificationData is an alias of [emv.PINVerificationData], so that consumers can name it without importing this package.
type PINVerificationData = emv.PINVerificationData

// DerivePINVerification turns an enciphered PIN (PIN set or change under a
// ZPK) into verification data with the active PVK version.
func (h *HSM) DerivePINVerification(ctx context.Context, in EncryptedPIN, pan emv.PAN, c PINCheck) (PINVerificationData, error) {
	return onClearPIN(ctx, h, in, pan, c, h.deriveVerification)
}

func (h *HSM) deriveVerification(ctx context.Context, pin, pan string, c PINCheck) (PINVerificationData, error) {
	out := PINVerificationData{Method: c.Method}
	err := h.withActive(ctx, c.PVKRef, opPINVerify, func(k *key) error {
		out.PVKVersion = k.rec.Version
		switch c.Method {
		case PINMethodPVV:
			pvv, err := emv.PVV(k.raw, pan, c.PVKI, pin)
			if err != nil {
				return fmt.Errorf("deriving PVV: %w: %w", ErrInvalidInput, err)
			}
			out.PVKI, out.PVV = c.PVKI, pvv
			return nil
		case PINMethodIBM3624:
			vd, dt, err := pinValidation(c, pan)
			if err != nil {
				return err
			}
			off, err := emv.IBM3624Offset(k.raw, pin, vd, dt)
			if err != nil {
				return fmt.Errorf("deriving IBM 3624 offset: %w: %w", ErrInvalidInput, err)
			}
			out.Offset = off
			return nil
		}
		return fmt.Errorf("deriving PIN verification data: method %q: %w", c.Method, ErrInvalidInput)
	})
	return out, err
}
