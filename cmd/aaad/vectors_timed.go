package main

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/aaa-project/aaa/aka"
	"github.com/aaa-project/aaa/latency"
)

// timedVectors is the vector source as eap sees it, timed and its errors
// counted for the metrics: the local HSS (Milenage over the store) or the
// remote one over SWx.
type timedVectors struct {
	inner interface {
		Vector(ctx context.Context, imsi, networkName string) (aka.Vector, error)
		Resync(ctx context.Context, imsi, networkName string, rand *[aka.RANDLen]byte, auts *[aka.AUTSLen]byte) (aka.Vector, error)
	}
	backend string
	latency latency.Histogram
	errs    [numVectorErrors]atomic.Uint64
}

const (
	vecErrUnknown = iota
	vecErrNotAuthorized
	vecErrRate
	vecErrAUTS
	vecErrOther
	numVectorErrors
)

var vectorErrorNames = [numVectorErrors]string{"unknown_subscriber", "not_authorized", "vector_rate", "auts_invalid", "other"}

func (t *timedVectors) count(err error) {
	switch {
	case err == nil:
		return
	case errors.Is(err, aka.ErrUnknownSubscriber):
		t.errs[vecErrUnknown].Add(1)
	case errors.Is(err, aka.ErrNotAuthorized):
		t.errs[vecErrNotAuthorized].Add(1)
	case errors.Is(err, aka.ErrVectorRate):
		t.errs[vecErrRate].Add(1)
	case errors.Is(err, aka.ErrAUTSInvalid):
		t.errs[vecErrAUTS].Add(1)
	default:
		t.errs[vecErrOther].Add(1)
	}
}

func (t *timedVectors) Vector(ctx context.Context, imsi, networkName string) (aka.Vector, error) {
	start := time.Now()
	v, err := t.inner.Vector(ctx, imsi, networkName)
	t.latency.Since(start)
	t.count(err)
	return v, err
}

func (t *timedVectors) Resync(ctx context.Context, imsi, networkName string, rand *[aka.RANDLen]byte, auts *[aka.AUTSLen]byte) (aka.Vector, error) {
	start := time.Now()
	v, err := t.inner.Resync(ctx, imsi, networkName, rand, auts)
	t.latency.Since(start)
	t.count(err)
	return v, err
}
