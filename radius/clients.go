// Package radius is the RADIUS front end (RFC 2865, RFC 3579): it carries
// EAP between access points and the eap.Server, and hands the session keys
// back in MS-MPPE-Recv-Key and MS-MPPE-Send-Key (RFC 2548).
//
// layeh.com/radius does the attribute codec and MPPE key encryption. The
// receive loop is our own, because the library's PacketServer does not do
// what an EAP server must: verify Message-Authenticator, replay the cached
// answer to a retransmission instead of running a new round (which would burn
// an SQN), put Message-Authenticator first in replies (CVE-2024-3596), and
// count every packet it drops.
package radius

import (
	"crypto/hmac"
	"crypto/md5"
	"hash"
	"net/netip"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Secret is a RADIUS shared secret. It prints as REDACTED.
type Secret []byte

func (Secret) String() string   { return "REDACTED" }
func (Secret) GoString() string { return "REDACTED" }

// Client is an access point or controller allowed to talk to us.
type Client struct {
	Name   string
	Prefix netip.Prefix
	Secret Secret
	// MaxConversations is the client's share of the EAP conversations
	// (eap.Peer.MaxConversations); DuplicateCacheSize its share of the
	// duplicate cache.
	MaxConversations   int
	DuplicateCacheSize int
	// DASAddr and DASPort are where Disconnect-Requests for the client's
	// sessions go (RFC 5176): DASAddr when valid, else the address the
	// session's Access-Request came from.
	DASAddr netip.Addr
	DASPort uint16

	// sock is the index of the socket the client's datagrams are steered
	// to (Listener).
	sock int

	// macs holds HMAC-MD5 states keyed with Secret: keying one costs four
	// allocations and two MD5 blocks, and every packet needs one.
	macs *sync.Pool
	// state is what the client has that outlives a reload of the client
	// table: its duplicate cache and counters.
	state *clientState
}

// clientState is a client's duplicate cache and counters, kept across a
// reload of the client table while the client keeps its name.
type clientState struct {
	dedup *dedupCache
	stats ClientStats
}

// ClientStats counts, per client, what was answered and what was shed, so
// that an operator sees which access point floods.
type ClientStats struct {
	Requests   atomic.Uint64
	Accepts    atomic.Uint64
	Rejects    atomic.Uint64
	Challenges atomic.Uint64
	// SharedFull counts new conversations refused because the client held
	// its whole share of the conversation store.
	ShareFull atomic.Uint64
	dropped   [numDropReasons]atomic.Uint64
}

// Dropped returns the client's count for one drop reason.
func (s *ClientStats) Dropped(r DropReason) uint64 { return s.dropped[r].Load() }

func (s *ClientStats) snapshot() map[string]uint64 {
	m := map[string]uint64{
		"requests":                  s.Requests.Load(),
		"access_accept":             s.Accepts.Load(),
		"access_reject":             s.Rejects.Load(),
		"access_challenge":          s.Challenges.Load(),
		"shed_conversation_share":   s.ShareFull.Load(),
		"shed_duplicate_cache_full": s.dropped[DropDuplicateCacheFull].Load(),
	}
	for i := range s.dropped {
		m["dropped_"+DropReason(i).String()] = s.dropped[i].Load()
	}
	return m
}

// mac returns an HMAC-MD5 keyed with the client's secret, reset; give it
// back with putMAC.
func (c *Client) mac() hash.Hash {
	return c.macs.Get().(hash.Hash)
}

func (c *Client) putMAC(h hash.Hash) {
	h.Reset()
	c.macs.Put(h)
}

// clientTable finds the client for a source address: the most specific
// prefix wins, so a /32 can carry its own secret inside a shared /8.
type clientTable []Client

// newClientTable builds the table for cs. A client whose name is in old
// keeps its duplicate cache and counters (a reload must not make a
// retransmission look new); the others start empty. The kept caches take
// their new bounds only from applyShares, once the table is in use.
func newClientTable(cs []Client, old clientTable, ttl time.Duration, sockets int) clientTable {
	t := append(clientTable(nil), cs...)
	for i := range t {
		t[i].sock = clientSocket(i, sockets) // in the order of the configuration
		secret := t[i].Secret
		t[i].macs = &sync.Pool{New: func() any { return hmac.New(md5.New, secret) }}
		for j := range old {
			if old[j].Name == t[i].Name {
				t[i].state = old[j].state
			}
		}
		if t[i].state == nil {
			t[i].state = &clientState{dedup: newDedupCache(t[i].DuplicateCacheSize, ttl)}
		}
	}
	sort.SliceStable(t, func(i, j int) bool { return t[i].Prefix.Bits() > t[j].Prefix.Bits() })
	return t
}

// applyShares gives each client's duplicate cache the table's bound.
func (t clientTable) applyShares() {
	for i := range t {
		t[i].state.dedup.setMax(t[i].DuplicateCacheSize)
	}
}

func (t clientTable) lookup(a netip.Addr) *Client {
	a = a.Unmap()
	for i := range t {
		if t[i].Prefix.Contains(a) {
			return &t[i]
		}
	}
	return nil
}
