package radius

import (
	"net/netip"
	"sort"
	"sync"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/aaa-project/aaa/eap"
)

// maxDropLogSources bounds the sources one summary tracks: a spoofed flood
// from random addresses costs a fixed amount of memory; the rest is counted
// as "others".
const maxDropLogSources = 1024

// dropLogTop is how many sources a summary names.
const dropLogTop = 10

// dropLog gathers dropped requests by source and reason between two
// summaries, so that a flood writes a few log lines an interval instead of
// one a packet (which at 100,000 packets/s would fill a disk in a day).
type dropLog struct {
	mu     sync.Mutex
	max    int
	counts map[dropLogKey]uint64
	others uint64 // drops from sources past max
	total  uint64
}

type dropLogKey struct {
	from   netip.Addr
	client string
	reason string // a DropReason's name, or eap_discard_ and the EAP reason
}

// eapDiscardLabels name EAP discards in the summary by their reason, made
// once so that noting one allocates nothing.
var eapDiscardLabels = func() (l [eap.NumReasons]string) {
	for i := range l {
		l[i] = "eap_discard_" + eap.Reason(i).String()
	}
	return l
}()

func newDropLog(max int) *dropLog {
	return &dropLog{max: max, counts: make(map[dropLogKey]uint64)}
}

func (d *dropLog) add(from netip.Addr, client string, reason string) {
	k := dropLogKey{from: from, client: client, reason: reason}
	d.mu.Lock()
	d.total++
	if _, ok := d.counts[k]; ok || len(d.counts) < d.max {
		d.counts[k]++
	} else {
		d.others++
	}
	d.mu.Unlock()
}

type dropLogEntry struct {
	dropLogKey
	n uint64
}

func (e dropLogEntry) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	enc.AddString("from", e.from.String())
	enc.AddString("client", e.client)
	enc.AddString("reason", e.reason)
	enc.AddUint64("count", e.n)
	return nil
}

type dropLogEntries []dropLogEntry

func (es dropLogEntries) MarshalLogArray(enc zapcore.ArrayEncoder) error {
	for _, e := range es {
		if err := enc.AppendObject(e); err != nil {
			return err
		}
	}
	return nil
}

// flush writes one warn line for the interval that ended, naming the
// sources with the most drops, and starts the next interval. Nothing is
// written for an interval without drops.
func (d *dropLog) flush(log *zap.Logger, interval time.Duration) {
	d.mu.Lock()
	if d.total == 0 {
		d.mu.Unlock()
		return
	}
	top := make(dropLogEntries, 0, len(d.counts))
	for k, n := range d.counts {
		top = append(top, dropLogEntry{k, n})
	}
	total, others, sources := d.total, d.others, len(d.counts)
	clear(d.counts)
	d.total, d.others = 0, 0
	d.mu.Unlock()

	sort.Slice(top, func(i, j int) bool { return top[i].n > top[j].n })
	if len(top) > dropLogTop {
		top = top[:dropLogTop]
	}
	log.Warn("radius requests dropped",
		zap.Duration("interval", interval),
		zap.Uint64("total", total),
		zap.Int("sources", sources),
		zap.Uint64("untracked", others),
		zap.Array("top", top))
}
