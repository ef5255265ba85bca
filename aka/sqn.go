package aka

import "errors"

// SQN is a 48-bit AKA sequence number (TS 33.102 clause 6.3.2 and Annex C),
// held in the low 48 bits of a uint64.
//
// The AuC generates it as in TS 33.102 Annex C.3.2 (Profile 2: sequence
// numbers that are not time-based), the scheme hostapd's hlr_auc_gw uses:
//
//	SQN = SEQ || IND
//
// IND is the low indBits bits and SEQ the remaining 48-indBits high bits.
// The USIM keeps an array of 2^indBits highest accepted SEQ values, indexed
// by IND (Annex C), and accepts a vector when its SEQ is above the one stored
// for its IND (and within the limit Δ). Every fresh vector therefore
// increments SEQ by one and advances IND by one modulo 2^indBits (Annex
// C.3.2), so that vectors handed out in batches and consumed out of order by
// different serving nodes still verify. SEQ is never reset: a repeated SQN
// would let an old AUTN replay.
type SQN uint64

// DefaultINDBits is the IND length hostapd's hlr_auc_gw uses by default
// (ind_len = 5).
const DefaultINDBits = 5

// MaxSQN is the largest SQN that fits the 48-bit field of TS 33.102 6.3.2.
const MaxSQN = 1<<48 - 1

var (
	// ErrSQNExhausted: SEQ would no longer fit its 48-indBits bit field.
	// The counter must not wrap: a wrapped SQN is rejected by the USIM as
	// too old, or worse, repeats one already used (TS 33.102 Annex C).
	ErrSQNExhausted = errors.New("aka: SQN exhausted: SEQ would exceed its field")
	// ErrINDBits: indBits leaves no room for SEQ within 48 bits.
	ErrINDBits = errors.New("aka: IND length must be below 48 bits")
)

// SQNFromBytes reads the 6-octet big-endian SQN of AUTN/AUTS.
func SQNFromBytes(b [SQNLen]byte) SQN {
	return SQN(b[0])<<40 | SQN(b[1])<<32 | SQN(b[2])<<24 |
		SQN(b[3])<<16 | SQN(b[4])<<8 | SQN(b[5])
}

// Bytes returns the 6-octet big-endian encoding used in AUTN. An SQN above
// MaxSQN is not valid; Bytes keeps only its low 48 bits.
func (s SQN) Bytes() [SQNLen]byte {
	return [SQNLen]byte{
		byte(s >> 40), byte(s >> 32), byte(s >> 24),
		byte(s >> 16), byte(s >> 8), byte(s),
	}
}

// indMask is 2^indBits - 1 (all ones when indBits >= 64).
func indMask(indBits uint) uint64 { return uint64(1)<<indBits - 1 }

// maxSEQ is the largest SEQ that fits beside an IND of indBits bits.
func maxSEQ(indBits uint) uint64 { return uint64(MaxSQN) >> indBits }

// SEQ returns the high 48-indBits bits of s (TS 33.102 Annex C). It does not
// mask s to 48 bits, so an out-of-range SQN gives an out-of-range SEQ, which
// Next and AfterResync refuse.
func (s SQN) SEQ(indBits uint) uint64 { return uint64(s) >> indBits }

// IND returns the low indBits bits of s, the USIM array index
// (TS 33.102 Annex C).
func (s SQN) IND(indBits uint) uint64 { return uint64(s) & indMask(indBits) }

// MakeSQN assembles SEQ || IND. ind is reduced modulo 2^indBits; seq is not
// checked, so a seq wider than 48-indBits bits gives an SQN above MaxSQN.
func MakeSQN(seq, ind uint64, indBits uint) SQN {
	return SQN(seq<<indBits | ind&indMask(indBits))
}

// Next returns the SQN of the next fresh vector after s: SEQ+1 with IND
// advanced by one modulo 2^indBits (TS 33.102 C.3.2; hostapd inc_sqn). It
// returns ErrSQNExhausted instead of wrapping when SEQ is already at the top
// of its field, and ErrINDBits when indBits >= 48.
func (s SQN) Next(indBits uint) (SQN, error) {
	if indBits >= 48 {
		return 0, ErrINDBits
	}
	seq := s.SEQ(indBits)
	if seq >= maxSEQ(indBits) {
		return 0, ErrSQNExhausted
	}
	return MakeSQN(seq+1, s.IND(indBits)+1, indBits), nil
}

// AfterResync returns the next SQN after a resynchronisation in which the
// USIM reported sqnMS in AUTS (TS 33.102 clause 6.3.5, Annex C.3.2): SEQ =
// max(SEQ(s), SEQ(sqnMS)) + 1, IND = IND(s)+1 mod 2^indBits. Taking the
// maximum means the AuC counter never goes backwards even if the USIM
// reports a value below it, so no SQN is ever issued twice; adding one puts
// the new SEQ above everything the USIM has accepted. Errors are as for
// Next.
func (s SQN) AfterResync(sqnMS SQN, indBits uint) (SQN, error) {
	if indBits >= 48 {
		return 0, ErrINDBits
	}
	seq := max(s.SEQ(indBits), sqnMS.SEQ(indBits))
	if seq >= maxSEQ(indBits) {
		return 0, ErrSQNExhausted
	}
	return MakeSQN(seq+1, s.IND(indBits)+1, indBits), nil
}
