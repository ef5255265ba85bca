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

	// macs holds HMAC-MD5 states keyed with Secret: keying one costs four
	// allocations and two MD5 blocks, and every packet needs one.
	macs *sync.Pool
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

func newClientTable(cs []Client) clientTable {
	t := append(clientTable(nil), cs...)
	for i := range t {
		secret := t[i].Secret
		t[i].macs = &sync.Pool{New: func() any { return hmac.New(md5.New, secret) }}
	}
	sort.SliceStable(t, func(i, j int) bool { return t[i].Prefix.Bits() > t[j].Prefix.Bits() })
	return t
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
