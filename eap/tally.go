package eap

import "sync/atomic"

// Tally counts ended authentications by method and result, for a front
// end's metrics: one atomic add per authentication, nothing else.
type Tally struct {
	n [3][2]atomic.Uint64 // [other, AKA, AKA'][success, failure]
}

func tallyIndex(m Type) int {
	switch m {
	case TypeAKA:
		return 1
	case TypeAKAPrime:
		return 2
	}
	return 0
}

// Add counts one authentication of method m that succeeded or failed.
func (t *Tally) Add(m Type, success bool) {
	r := 1
	if success {
		r = 0
	}
	t.n[tallyIndex(m)][r].Add(1)
}

// Load returns how many authentications of m ended with success (or not).
// A Type other than EAP-AKA and EAP-AKA' counts as one method: failures
// before a method was chosen.
func (t *Tally) Load(m Type, success bool) uint64 {
	r := 1
	if success {
		r = 0
	}
	return t.n[tallyIndex(m)][r].Load()
}
