package sandbox

import "github.com/cardhost/cardhost/emv"

// PublishedKey is a sandbox key made from published test components, with
// their check values, the clear key (their XOR) and its check value. Never
// use one outside the sandbox: its clear value is public (docs/sandbox.md).
type PublishedKey struct {
	Type                      emv.KeyType
	Spec                      emv.KeySpec
	Components, ComponentKCVs []string
	Clear, KCV                string
}

var (
	// TransportKEK makes every sandbox tenant's transport key (AES-256 KEK,
	// AES-CMAC KCV), under which personalisation records are exported for
	// the terminal simulator: component 1 is the key block protection key of
	// ASC X9 TR-31:2018 Annex A.7.4, component 2 the AES-256 key of the
	// Thales payShield key block example in openemv/tr31's tests (test8).
	TransportKEK = PublishedKey{
		Type:          emv.KeyKEK,
		Spec:          emv.KeySpecAES256,
		Components:    []string{"88E1AB2A2E3DD38C1FA039A536500CC8A87AB9D62DC92C01058FA79F44657DE6", "BE19E6A07A760F10EF8E83A226B63AAD141F463FDDD4F47DB244B4023EC3CACC"},
		ComponentKCVs: []string{"233155", "0A00E3"},
		Clear:         "36F84D8A544BDC9CF02EBA0710E63665BC65FFE9F01DD87CB7CB139D7AA6B72A",
		KCV:           "A25E84",
	}
	// AcquirerZPK makes the sandbox acquirer's zone PIN key (double length
	// TDES): the three key parts of EFTlab's BP-CCALC tutorial "Key exchange
	// session preparation", with their published check values.
	AcquirerZPK = PublishedKey{
		Type:          emv.KeyZPK,
		Spec:          emv.KeySpecTDES2,
		Components:    []string{"3B577FB3FD756DDFE62F6B52751580E0", "D9CDE338A104A789859E76150B543251", "1032D0581A31D64FADD08991945E0D3E"},
		ComponentKCVs: []string{"CAEBAA", "DF9B9A", "83EBC1"},
		Clear:         "F2A84CD346401C19CE6194D6EA1FBF8F",
		KCV:           "DDA8BA",
	}
	// MACAcquirerZAK makes the sandbox MAC acquirer's zone MAC key (double
	// length TDES): the key of the ISO/IEC 9797-1 Annex B MAC examples,
	// K = 0123456789ABCDEF, K' = FEDCBA9876543210, as one component and a
	// zero component, so that MACs under it can be checked against the
	// standard's examples (testdata/vectors/iso9797_mac.json).
	MACAcquirerZAK = PublishedKey{
		Type:          emv.KeyZAK,
		Spec:          emv.KeySpecTDES2,
		Components:    []string{"0123456789ABCDEFFEDCBA9876543210", "00000000000000000000000000000000"},
		ComponentKCVs: []string{"08D7B4", "8CA64D"},
		Clear:         "0123456789ABCDEFFEDCBA9876543210",
		KCV:           "08D7B4",
	}
)

// The sandbox acquirers (field 32): AcquirerID with the ZPK AcquirerZPK,
// and MACAcquirerID with the same ZPK and the ZAK MACAcquirerZAK, which
// requires MACs (docs/sandbox.md).
const (
	AcquirerID      = "00000000001"
	acquirerName    = "Sandbox acquirer"
	MACAcquirerID   = "00000000002"
	macAcquirerName = "Sandbox MAC acquirer"
)

// tenantKeys are the per-tenant key roles seeding creates.
var tenantKeys = []struct {
	role string
	typ  emv.KeyType
}{
	{"imk-ac", emv.KeyIMKAC}, {"imk-smi", emv.KeyIMKSMI}, {"imk-smc", emv.KeyIMKSMC}, {"cvk", emv.KeyCVK}, {"pvk", emv.KeyPVK}, {"kek", emv.KeyKEK},
}
