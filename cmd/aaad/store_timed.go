package main

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/aaa-project/aaa/eap"
	"github.com/aaa-project/aaa/latency"
)

// timedStore is the EAP store as eap sees it, timed and its faults
// counted for the metrics (aaad_store_duration_seconds,
// aaad_store_errors_total). What a store answers in the normal course
// (not found, a conflict, full) is no fault.
type timedStore struct {
	inner   eap.Store
	backend string
	latency latency.Histogram
	errs    atomic.Uint64
}

func (t *timedStore) done(start time.Time, err error) error {
	t.latency.Since(start)
	if err != nil && !errors.Is(err, eap.ErrConversationNotFound) && !errors.Is(err, eap.ErrConversationConflict) &&
		!errors.Is(err, eap.ErrStoreFull) && !errors.Is(err, eap.ErrPeerFull) &&
		!errors.Is(err, eap.ErrRecordNotFound) && !errors.Is(err, eap.ErrRecordsNotStored) {
		t.errs.Add(1)
	}
	return err
}

func (t *timedStore) Get(ctx context.Context, id eap.ConversationID, c *eap.Conversation) error {
	start := time.Now()
	return t.done(start, t.inner.Get(ctx, id, c))
}

func (t *timedStore) GetFresh(ctx context.Context, id eap.ConversationID, c *eap.Conversation) error {
	start := time.Now()
	return t.done(start, t.inner.GetFresh(ctx, id, c))
}

func (t *timedStore) Put(ctx context.Context, c *eap.Conversation) error {
	start := time.Now()
	return t.done(start, t.inner.Put(ctx, c))
}

func (t *timedStore) Finish(ctx context.Context, c *eap.Conversation, h *eap.Handouts) error {
	start := time.Now()
	return t.done(start, t.inner.Finish(ctx, c, h))
}

func (t *timedStore) PutPseudonym(ctx context.Context, pseudonym string, rec eap.PseudonymRecord) error {
	start := time.Now()
	return t.done(start, t.inner.PutPseudonym(ctx, pseudonym, rec))
}

func (t *timedStore) GetPseudonym(ctx context.Context, pseudonym string) (eap.PseudonymRecord, error) {
	start := time.Now()
	rec, err := t.inner.GetPseudonym(ctx, pseudonym)
	return rec, t.done(start, err)
}

func (t *timedStore) PutReauth(ctx context.Context, id string, rec *eap.ReauthRecord) error {
	start := time.Now()
	return t.done(start, t.inner.PutReauth(ctx, id, rec))
}

func (t *timedStore) TakeReauth(ctx context.Context, id string, rec *eap.ReauthRecord) error {
	start := time.Now()
	return t.done(start, t.inner.TakeReauth(ctx, id, rec))
}
