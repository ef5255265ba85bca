package hss

import (
	"context"
	"crypto/rand"
	"errors"

	"github.com/aaa-project/aaa/aka"
	"github.com/aaa-project/aaa/milenage"
)

// Local is the built-in HSS/AuC: Milenage over a subscriber Store. It
// implements the EAP layer's VectorSource.
type Local struct {
	store   Store
	indBits uint
}

// NewLocal returns a vector source over store. indBits is the length of IND
// in SQN = SEQ || IND (TS 33.102 C.3.2); aka.DefaultINDBits suits USIMs
// with the usual 32-entry array.
func NewLocal(store Store, indBits uint) (*Local, error) {
	if store == nil {
		return nil, errors.New("hss: no subscriber store")
	}
	if indBits > 10 {
		return nil, errors.New("hss: IND longer than 10 bits")
	}
	return &Local{store: store, indBits: indBits}, nil
}

// Vector returns a fresh vector for imsi. With a network name it is an
// EAP-AKA' vector: AMF separation bit set (TS 33.402 6.1) and CK'/IK'
// derived for that name (TS 33.402 A.2), as an HSS answers over SWx.
func (l *Local) Vector(ctx context.Context, imsi, networkName string) (aka.Vector, error) {
	cred, sqn, err := l.store.AdvanceSQN(ctx, imsi, l.indBits)
	if err != nil {
		return aka.Vector{}, err
	}
	defer clear(cred.K[:])
	defer clear(cred.OPc[:])
	amf := cred.AMF
	if networkName != "" {
		amf |= aka.AMFSeparationBit
	}
	var r [aka.RANDLen]byte
	rand.Read(r[:]) // never fails (crypto/rand, Go 1.24+)
	v := aka.NewVector(milenage.New(cred.K, cred.OPc), &r, sqn, amf)
	if networkName != "" {
		if err := v.ToPrime([]byte(networkName)); err != nil {
			return aka.Vector{}, err
		}
	}
	return v, nil
}

// Resync verifies the AUTS a USIM sent for rand and moves the subscriber's
// SQN past the USIM's (TS 33.102 6.3.5).
func (l *Local) Resync(ctx context.Context, imsi string, rand *[aka.RANDLen]byte, auts *[aka.AUTSLen]byte) error {
	cred, err := l.store.Credentials(ctx, imsi)
	if err != nil {
		return err
	}
	defer clear(cred.K[:])
	defer clear(cred.OPc[:])
	sqnMS, err := aka.VerifyAUTS(milenage.New(cred.K, cred.OPc), rand, auts)
	if err != nil {
		return err
	}
	return l.store.ResyncSQN(ctx, imsi, sqnMS, l.indBits)
}
