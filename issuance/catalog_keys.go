package issuance

import "github.com/cardhost/cardhost/emv"

// Platform key roles: which HSM key plays each part of SystemKeys. An
// operator assigns them with `cardhost keys assign --role ROLE --ref REF`;
// sandbox mode assigns freshly generated keys on first start.
const (
	KeyRolePANDEK = "pan-dek" // seals stored PANs
	KeyRolePANIDX = "pan-idx" // keyed PAN look-up index
	KeyRoleCA     = "ca"      // signs issuer certificates
	KeyRoleECDH   = "ecdh"    // PIN-set key agreement
)

// KeyRoles lists the platform key roles in a stable order.
var KeyRoles = []string{KeyRolePANDEK, KeyRolePANIDX, KeyRoleCA, KeyRoleECDH}

// KeyRoleType returns the key type a platform role needs.
func KeyRoleType(role string) (emv.KeyType, bool) {
	switch role {
	case KeyRolePANDEK:
		return emv.KeyPANDEK, true
	case KeyRolePANIDX:
		return emv.KeyPANIDX, true
	case KeyRoleCA:
		return emv.KeyCA, true
	case KeyRoleECDH:
		return emv.KeyECDH, true
	}
	return "", false
}

// KeyRoleRebindable reports whether a role may move to another key once
// assigned. PAN-DEK and PAN-IDX may not: stored PANs are sealed and indexed
// under the assigned reference, so moving the role would make every
// existing card unreadable and unfindable. Rotate the key instead (a new
// version under the same reference).
func KeyRoleRebindable(role string) bool { return role == KeyRoleCA || role == KeyRoleECDH }

// SetRole sets the reference of a platform role; false for an unknown role.
func (k *SystemKeys) SetRole(role, ref string) bool {
	switch role {
	case KeyRolePANDEK:
		k.PANDEK = ref
	case KeyRolePANIDX:
		k.PANIndex = ref
	case KeyRoleCA:
		k.CA = ref
	case KeyRoleECDH:
		k.ECDH = ref
	default:
		return false
	}
	return true
}

// Missing lists the platform roles without a key.
func (k SystemKeys) Missing() []string {
	var out []string
	for i, ref := range []string{k.PANDEK, k.PANIndex, k.CA, k.ECDH} {
		if ref == "" {
			out = append(out, KeyRoles[i])
		}
	}
	return out
}
