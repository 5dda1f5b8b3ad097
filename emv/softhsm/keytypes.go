package softhsm

import "github.com/cardhost/cardhost/emv"

// keyRule is one row of the key type table: what material a type may have,
// its TR-31 usage code, and whether it may leave the HSM under a KEK.
type keyRule struct {
	usage      string        // ANSI X9.143 (TR-31) key usage
	specs      []emv.KeySpec // allowed specs; the first is the default
	exportable bool
}

// keyRules is the key type table (docs/hsm.md, "Key types and usages").
var keyRules = map[emv.KeyType]keyRule{
	emv.KeyIMKAC:  {"E0", []emv.KeySpec{emv.KeySpecTDES2}, true},
	emv.KeyIMKSMI: {"E2", []emv.KeySpec{emv.KeySpecTDES2}, true},
	emv.KeyIMKSMC: {"E1", []emv.KeySpec{emv.KeySpecTDES2}, true},
	emv.KeyCVK:    {"C0", []emv.KeySpec{emv.KeySpecTDES2}, true},
	emv.KeyPVK:    {"V2", []emv.KeySpec{emv.KeySpecTDES2}, true},
	emv.KeyZPK:    {"P0", []emv.KeySpec{emv.KeySpecTDES2, emv.KeySpecTDES3, emv.KeySpecAES128, emv.KeySpecAES256}, true},
	emv.KeyZAK:    {"M3", []emv.KeySpec{emv.KeySpecTDES2}, true},
	emv.KeyKEK:    {"K0", []emv.KeySpec{emv.KeySpecAES256, emv.KeySpecAES128}, false},
	emv.KeyCA:     {"S0", []emv.KeySpec{emv.KeySpecECP256}, false},
	emv.KeyECDH:   {"K3", []emv.KeySpec{emv.KeySpecECP256}, false},
	emv.KeyPANDEK: {"D0", []emv.KeySpec{emv.KeySpecAES256}, false},
	emv.KeyPANIDX: {"M7", []emv.KeySpec{emv.KeySpecHMACSHA256}, false},
}

// specLen is the length of each spec's raw material.
var specLen = map[emv.KeySpec]int{
	emv.KeySpecTDES2:      16,
	emv.KeySpecTDES3:      24,
	emv.KeySpecAES128:     16,
	emv.KeySpecAES256:     32,
	emv.KeySpecHMACSHA256: 32,
	emv.KeySpecECP256:     32,
}

func isTDES(s emv.KeySpec) bool { return s == emv.KeySpecTDES2 || s == emv.KeySpecTDES3 }
func isAES(s emv.KeySpec) bool  { return s == emv.KeySpecAES128 || s == emv.KeySpecAES256 }

// allowsSpec reports whether t may have spec s.
func (r keyRule) allowsSpec(s emv.KeySpec) bool {
	for _, x := range r.specs {
		if x == s {
			return true
		}
	}
	return false
}

// op is an HSM operation; each accepts a fixed set of key types.
type op int

const (
	opARQC op = iota // verify ARQC, generate ARPC
	opDeriveICC
	opCVV
	opPINVerify // PVK side of PIN verification / PIN set
	opPINBlock  // ZPK: PIN blocks in and out
	opMAC
	opWrap // KEK: export
	opSign
	opAgree
	opSeal
	opIndex
)

var opTypes = map[op][]emv.KeyType{
	opARQC:      {emv.KeyIMKAC},
	opDeriveICC: {emv.KeyIMKAC, emv.KeyIMKSMI, emv.KeyIMKSMC},
	opCVV:       {emv.KeyCVK},
	opPINVerify: {emv.KeyPVK},
	opPINBlock:  {emv.KeyZPK},
	opMAC:       {emv.KeyZAK},
	opWrap:      {emv.KeyKEK},
	opSign:      {emv.KeyCA},
	opAgree:     {emv.KeyECDH},
	opSeal:      {emv.KeyPANDEK},
	opIndex:     {emv.KeyPANIDX},
}

func (o op) allows(t emv.KeyType) bool {
	for _, x := range opTypes[o] {
		if x == t {
			return true
		}
	}
	return false
}
