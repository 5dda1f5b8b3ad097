package host

import (
	"context"
	"fmt"
	"strconv"

	"github.com/cardhost/cardhost/emv"
)

// verified is the Verifier of one request's decision, across its attempts.
// A commit that finds the card changed (CommitStale, or the locked
// fallback) decides the request again on the fresh card, but the request's
// cryptogram, CVVs and PIN block have not changed: verified asks the HSM
// each question once and answers a repeated one from memory, so a retry
// re-runs only what reads card state (ATC replay, PIN tries, controls,
// limits). What the card contributes to a question (key references,
// expiry, PIN verification data, CVN) is part of it, so a card whose keys
// changed between attempts is verified again; errors are not remembered.
// What the request contributes (PAN, field 55, track 2, CVV2, PIN block) is
// the same for every attempt and is left out of the questions.
//
// Not safe for concurrent use: a request's attempts run one after another.
type verified struct {
	Verifier

	arqc                   remembered[emv.ARQCResult]
	arpc                   remembered[[]byte]
	cvv, icvv, cvv2, pinOK remembered[bool]
}

// remembered is the last answer to one kind of question.
type remembered[T any] struct {
	q   string
	set bool
	a   T
}

// ask returns the remembered answer to q, or asks f and remembers its
// answer when it has none for q.
func (m *remembered[T]) ask(q string, f func() (T, error)) (T, error) {
	if m.set && m.q == q {
		return m.a, nil
	}
	a, err := f()
	if err != nil {
		return a, err
	}
	m.q, m.a, m.set = q, a, true
	return a, nil
}

func newVerified(v Verifier) *verified {
	return &verified{Verifier: v}
}

// arqcQuestion is what the card contributes to an ARQC check.
func arqcQuestion(a emv.ARQCCheck) string {
	return a.IMKRef + "|" + string(a.CVN.Scheme) + "|" + strconv.Itoa(a.CVN.Number) + "|" + a.PSN
}

// The Verifier methods below answer from memory, or ask the HSM.

func (m *verified) VerifyARQC(ctx context.Context, a emv.ARQCCheck) (emv.ARQCResult, error) {
	return m.arqc.ask(arqcQuestion(a), func() (emv.ARQCResult, error) { return m.Verifier.VerifyARQC(ctx, a) })
}

func (m *verified) GenerateARPC(ctx context.Context, a emv.ARQCCheck, keyVersion int, responseCode string) ([]byte, error) {
	q := arqcQuestion(a) + "|" + strconv.Itoa(keyVersion) + "|" + responseCode
	return m.arpc.ask(q, func() ([]byte, error) { return m.Verifier.GenerateARPC(ctx, a, keyVersion, responseCode) })
}

func (m *verified) VerifyCVV(ctx context.Context, cvkRef string, pan emv.PAN, expiry, serviceCode string, cvv emv.CVV) (bool, error) {
	return m.cvv.ask(cvkRef+"|"+expiry+"|"+serviceCode, func() (bool, error) {
		return m.Verifier.VerifyCVV(ctx, cvkRef, pan, expiry, serviceCode, cvv)
	})
}

func (m *verified) VerifyICVV(ctx context.Context, cvkRef string, pan emv.PAN, expiry string, icvv emv.CVV) (bool, error) {
	return m.icvv.ask(cvkRef+"|"+expiry, func() (bool, error) { return m.Verifier.VerifyICVV(ctx, cvkRef, pan, expiry, icvv) })
}

func (m *verified) VerifyCVV2(ctx context.Context, cvkRef string, pan emv.PAN, expiry string, cvv2 emv.CVV) (bool, error) {
	return m.cvv2.ask(cvkRef+"|"+expiry, func() (bool, error) { return m.Verifier.VerifyCVV2(ctx, cvkRef, pan, expiry, cvv2) })
}

func (m *verified) VerifyPIN(ctx context.Context, in emv.EncryptedPIN, pan emv.PAN, c emv.PINCheck) (bool, error) {
	q := in.ZPKRef + "|" + fmt.Sprint(in.Accept) + "|" + string(c.Method) + "|" + c.PVKRef + "|" + c.PVKI + "|" + c.PVV + "|" + c.Offset + "|" + c.ValidationData
	return m.pinOK.ask(q, func() (bool, error) { return m.Verifier.VerifyPIN(ctx, in, pan, c) })
}
