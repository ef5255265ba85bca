package eap

import (
	"context"
	"errors"
	"time"

	"github.com/aaa-project/aaa/aka"
)

// ErrRecordNotFound: no live pseudonym or re-authentication record under
// that name (never issued, used, or expired).
var ErrRecordNotFound = errors.New("eap: identity record not found")

// ErrRecordsNotStored: a conversation finished, but the records it handed
// out could not be stored (Finish).
var ErrRecordsNotStored = errors.New("eap: handed-out identities not stored")

// Handouts are the records a successful authentication hands out, stored
// as its conversation finishes: a pseudonym (Pseudonym not empty) and a
// re-authentication context (Reauth not nil).
type Handouts struct {
	Pseudonym       string
	PseudonymRecord PseudonymRecord
	ReauthID        string
	Reauth          *ReauthRecord
}

// PseudonymRecord maps a pseudonym (RFC 4187 4.1.1.7) back to its
// subscriber. The pseudonym itself is random: it reveals nothing.
type PseudonymRecord struct {
	IMSI    string
	Expires time.Time
}

// ReauthRecord is the fast re-authentication context (RFC 4187 5, RFC 9048
// 3.3) kept under a re-authentication identity. It holds keys, so it prints
// as REDACTED and is zeroed once used.
type ReauthRecord struct {
	IMSI   string
	Method Type
	// Counter is the value of the last AT_COUNTER used; the next
	// re-authentication sends Counter+1 (0 after the full authentication).
	Counter uint16
	// FullAuthAt is when the full authentication this context comes from
	// happened: max_age counts from there.
	FullAuthAt time.Time
	Expires    time.Time
	KEncr      [16]byte
	KAut       [32]byte
	KAutLen    uint8
	// MK (EAP-AKA) or KRe (EAP-AKA') derive the new MSK/EMSK.
	MK  [20]byte
	KRe [32]byte
}

// Clear zeroes the keys.
func (r *ReauthRecord) Clear() { *r = ReauthRecord{} }

// String keeps keys out of logs.
func (r *ReauthRecord) String() string { return "eap.ReauthRecord{REDACTED}" }

// GoString does the same for %#v.
func (r *ReauthRecord) GoString() string { return r.String() }

func (r *ReauthRecord) fromKeys(k *aka.Keys) {
	r.KEncr, r.KAut, r.KAutLen, r.MK, r.KRe = k.KEncr, k.KAut, k.KAutLen, k.MK, k.KRe
}

// Store is all the state the EAP server keeps: conversations, pseudonyms and
// fast re-authentication contexts, behind one interface so that a shared
// backend (Redis) gives every node the same view. Records expire on their
// own; a re-authentication context is single use. store/memory and
// store/redisstore implement it; eap/storetest is its contract as a test
// suite.
type Store interface {
	ConversationStore
	// PutPseudonym stores rec under the pseudonym username (no prefix, no
	// realm) until rec.Expires. It replaces the subscriber's previous
	// pseudonym: one per subscriber.
	PutPseudonym(ctx context.Context, pseudonym string, rec PseudonymRecord) error
	// GetPseudonym returns the live record, or ErrRecordNotFound.
	GetPseudonym(ctx context.Context, pseudonym string) (PseudonymRecord, error)
	// PutReauth stores rec under the re-authentication username until
	// rec.Expires. It replaces the subscriber's previous context: one per
	// subscriber.
	PutReauth(ctx context.Context, id string, rec *ReauthRecord) error
	// TakeReauth moves the live record into rec and deletes it, in one
	// step, so that a re-authentication identity is used once even when
	// two nodes race; or returns ErrRecordNotFound.
	TakeReauth(ctx context.Context, id string, rec *ReauthRecord) error
}
