package hss

// What the external tests (package hss_test) need of this package and of
// its internal tests. Those tests are external because they run Local over
// the subscriber store of store/memory, which imports hss: package hss's
// own tests cannot import it.

// TS 35.208 test set 1.
const (
	Set1K   = set1K
	Set1OPc = set1OPc
)

var (
	MustKey    = mustKey
	MustOPc    = mustOPc
	TestSealer = testSealer
)

// LimiterEntries is the number of subscribers l's vector limiter holds a
// bucket for.
func LimiterEntries(l *Local) int {
	n := 0
	for i := range l.limit.shards {
		n += len(l.limit.shards[i].m)
	}
	return n
}
