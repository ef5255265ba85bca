package swx

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/avp"
	"github.com/fiorix/go-diameter/v4/diam/datatype"
	"github.com/fiorix/go-diameter/v4/diam/dict"

	"github.com/aaa-project/aaa/aka"
	"github.com/aaa-project/aaa/milenage"
)

func TestMain(m *testing.M) {
	if err := LoadDictionary(dict.Default); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// 3GPP TS 35.208 test set 1.
const (
	set1K   = "465b5ce8b199b49faa5f0a2ee238a6bc"
	set1OPc = "cd63cb71954a9f4e48a5994e37a02baf"

	imsi1 = "001010000000001"
	imsi2 = "001010000000002"
	imsi3 = "001010000000003"
	imsiX = "001019999999999" // unknown
	wlan  = "WLAN"
	bits  = aka.DefaultINDBits
)

func cipher(tb testing.TB) *milenage.Cipher {
	tb.Helper()
	var k milenage.Key
	var opc milenage.OPc
	if _, err := hex.Decode(k[:], []byte(set1K)); err != nil {
		tb.Fatal(err)
	}
	if _, err := hex.Decode(opc[:], []byte(set1OPc)); err != nil {
		tb.Fatal(err)
	}
	return milenage.New(k, opc)
}

// testAuC is a small AuC over Milenage, as hss.Local does it: SQN = SEQ ||
// IND advanced per vector, AUTS verified on resynchronisation.
type testAuC struct {
	c       *milenage.Cipher
	mu      sync.Mutex
	sqn     map[string]aka.SQN
	vectors int
	rateErr bool // every Vector fails with aka.ErrVectorRate
}

func newAuC(tb testing.TB, imsis ...string) *testAuC {
	a := &testAuC{c: cipher(tb), sqn: make(map[string]aka.SQN)}
	for _, imsi := range imsis {
		a.sqn[imsi] = aka.MakeSQN(1, 0, bits)
	}
	return a
}

func (a *testAuC) Vector(_ context.Context, imsi, networkName string) (aka.Vector, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.rateErr {
		return aka.Vector{}, aka.ErrVectorRate
	}
	s, ok := a.sqn[imsi]
	if !ok {
		return aka.Vector{}, aka.ErrUnknownSubscriber
	}
	next, err := s.Next(bits)
	if err != nil {
		return aka.Vector{}, err
	}
	a.sqn[imsi] = next
	amf := uint16(0)
	if networkName != "" {
		amf |= aka.AMFSeparationBit
	}
	var r [aka.RANDLen]byte
	crand.Read(r[:])
	v := aka.NewVector(a.c, &r, next, amf)
	if networkName != "" {
		if err := v.ToPrime([]byte(networkName)); err != nil {
			return aka.Vector{}, err
		}
	}
	a.vectors++
	return v, nil
}

func (a *testAuC) Resync(ctx context.Context, imsi, networkName string, rand *[aka.RANDLen]byte, auts *[aka.AUTSLen]byte) (aka.Vector, error) {
	a.mu.Lock()
	s, ok := a.sqn[imsi]
	if !ok {
		a.mu.Unlock()
		return aka.Vector{}, aka.ErrUnknownSubscriber
	}
	sqnMS, err := aka.VerifyAUTS(a.c, rand, auts)
	if err != nil {
		a.mu.Unlock()
		return aka.Vector{}, err
	}
	if a.sqn[imsi], err = s.AfterResync(sqnMS, bits); err != nil {
		a.mu.Unlock()
		return aka.Vector{}, err
	}
	a.mu.Unlock()
	return a.Vector(ctx, imsi, networkName)
}

func (a *testAuC) SQN(imsi string) aka.SQN {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.sqn[imsi]
}

// recoverSQN undoes the AK concealment of a vector's AUTN, as the USIM does.
func recoverSQN(tb testing.TB, v *aka.Vector) aka.SQN {
	_, _, _, ak := cipher(tb).F2345(&v.RAND)
	var s [aka.SQNLen]byte
	for i := range s {
		s[i] = v.AUTN[i] ^ ak[i]
	}
	return aka.SQNFromBytes(s)
}

// makeAUTS builds the AUTS a USIM holding sqnMS returns for rand (TS 33.102
// 6.3.3).
func makeAUTS(tb testing.TB, rand *[aka.RANDLen]byte, sqnMS aka.SQN) [aka.AUTSLen]byte {
	c := cipher(tb)
	akStar := c.F5Star(rand)
	macS := c.F1Star(rand, sqnMS.Bytes(), [aka.AMFLen]byte{})
	var a [aka.AUTSLen]byte
	b := sqnMS.Bytes()
	for i := range aka.SQNLen {
		a[i] = b[i] ^ akStar[i]
	}
	copy(a[aka.SQNLen:], macS[:])
	return a
}

type handlerFunc func(context.Context, *diam.Message) *diam.Message

func (f handlerFunc) ServeDiameter(ctx context.Context, m *diam.Message) *diam.Message {
	return f(ctx, m)
}

type handler interface {
	ServeDiameter(context.Context, *diam.Message) *diam.Message
}

// fakeNode is a Transport that hands each request, serialized and read
// back with diam.ReadMessage, to its peer's ServeDiameter, and the answer
// back the same way, so that the encoding is exercised both ways.
type fakeNode struct {
	host, realm string

	mu    sync.Mutex
	peer  handler
	sent  map[uint32]int           // requests by command
	seen  map[uint32]*diam.Message // the last request of each command, as the peer read it
	wires [][]byte                 // every request as sent
	fail  error                    // Request fails with it when set

	sid, hbh atomic.Uint32
}

func newNode(host, realm string) *fakeNode {
	return &fakeNode{host: host, realm: realm, sent: map[uint32]int{}, seen: map[uint32]*diam.Message{}}
}

// pair connects a client node (the AAA server's) and an HSS node.
func pair() (aaa, hss *fakeNode) {
	return newNode("aaa.example.org", "example.org"), newNode("hss.example.org", "example.org")
}

func (n *fakeNode) setPeer(h handler) {
	n.mu.Lock()
	n.peer = h
	n.mu.Unlock()
}

func (n *fakeNode) Identity() (string, string) { return n.host, n.realm }

func (n *fakeNode) NewRequest(cmd, app uint32, destRealm, destHost string) *diam.Message {
	m := diam.NewMessage(cmd, diam.RequestFlag|diam.ProxiableFlag, app, 0, 0, dict.Default)
	m.NewAVP(avp.SessionID, avp.Mbit, 0, datatype.UTF8String(fmt.Sprintf("%s;1;%d", n.host, n.sid.Add(1))))
	m.NewAVP(avp.OriginHost, avp.Mbit, 0, datatype.DiameterIdentity(n.host))
	m.NewAVP(avp.OriginRealm, avp.Mbit, 0, datatype.DiameterIdentity(n.realm))
	m.NewAVP(avp.DestinationRealm, avp.Mbit, 0, datatype.DiameterIdentity(destRealm))
	if destHost != "" {
		m.NewAVP(avp.DestinationHost, avp.Mbit, 0, datatype.DiameterIdentity(destHost))
	}
	return m
}

func (n *fakeNode) Answer(req *diam.Message, resultCode uint32) *diam.Message {
	flags := req.Header.CommandFlags &^ (diam.RequestFlag | diam.RetransmittedFlag | diam.ErrorFlag)
	if resultCode >= 3000 && resultCode < 4000 {
		flags |= diam.ErrorFlag
	}
	m := diam.NewMessage(req.Header.CommandCode, flags, req.Header.ApplicationID,
		req.Header.HopByHopID, req.Header.EndToEndID, dict.Default)
	if sid := find(req.AVP, avp.SessionID, 0); sid != nil {
		m.AddAVP(diam.NewAVP(avp.SessionID, avp.Mbit, 0, sid.Data))
	}
	if resultCode != 0 {
		m.NewAVP(avp.ResultCode, avp.Mbit, 0, datatype.Unsigned32(resultCode))
	}
	m.NewAVP(avp.OriginHost, avp.Mbit, 0, datatype.DiameterIdentity(n.host))
	m.NewAVP(avp.OriginRealm, avp.Mbit, 0, datatype.DiameterIdentity(n.realm))
	return m
}

// wire serializes m and reads it back as a peer would.
func wire(m *diam.Message) (*diam.Message, []byte, error) {
	b, err := m.Serialize()
	if err != nil {
		return nil, nil, err
	}
	if len(b) != int(m.Header.MessageLength) {
		return nil, nil, fmt.Errorf("serialized %d octets, header says %d", len(b), m.Header.MessageLength)
	}
	r, err := diam.ReadMessage(bytes.NewReader(b), dict.Default)
	if err != nil {
		return nil, nil, fmt.Errorf("read back: %w", err)
	}
	return r, b, nil
}

func (n *fakeNode) Request(ctx context.Context, req *diam.Message) (*diam.Message, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	n.mu.Lock()
	peer, fail := n.peer, n.fail
	n.mu.Unlock()
	if fail != nil {
		return nil, fail
	}
	if peer == nil {
		return nil, errors.New("no peer")
	}
	req.Header.HopByHopID = n.hbh.Add(1)
	in, b, err := wire(req)
	if err != nil {
		return nil, err
	}
	n.mu.Lock()
	n.sent[req.Header.CommandCode]++
	n.seen[req.Header.CommandCode] = in
	n.wires = append(n.wires, b)
	n.mu.Unlock()
	ans := peer.ServeDiameter(ctx, in)
	if ans == nil {
		return nil, errors.New("no answer")
	}
	if ans.Header.HopByHopID != req.Header.HopByHopID {
		return nil, errors.New("answer with another hop-by-hop id")
	}
	out, _, err := wire(ans)
	return out, err
}

func (n *fakeNode) count(cmd uint32) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.sent[cmd]
}

func (n *fakeNode) last(cmd uint32) *diam.Message {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.seen[cmd]
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// enders records EndSessions calls on a channel.
type enders struct{ ch chan string }

func newEnders() *enders { return &enders{ch: make(chan string, 16)} }

func (e *enders) EndSessions(_ context.Context, imsi string) int {
	e.ch <- imsi
	return 1
}

func (e *enders) wait(t *testing.T) string {
	t.Helper()
	select {
	case imsi := <-e.ch:
		return imsi
	case <-time.After(10 * time.Second): // a deadline, not a sleep
		t.Fatal("EndSessions was not called")
		return ""
	}
}

// rig is a Client and a Server connected in process.
type rig struct {
	aaa, hss *fakeNode
	client   *Client
	server   *Server
	auc      *testAuC
	clock    *fakeClock
	ends     *enders
}

type rigOpt func(*ClientConfig, *ServerConfig)

func newRig(t *testing.T, opts ...rigOpt) *rig {
	t.Helper()
	aaa, hssNode := pair()
	r := &rig{aaa: aaa, hss: hssNode, auc: newAuC(t, imsi1, imsi2, imsi3), clock: newClock(), ends: newEnders()}
	ccfg := ClientConfig{DestinationRealm: hssNode.realm, Now: r.clock.Now, Sessions: r.ends}
	scfg := ServerConfig{AuC: r.auc}
	for _, o := range opts {
		o(&ccfg, &scfg)
	}
	var err error
	if r.client, err = NewClient(aaa, ccfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.client.Close)
	if r.server, err = NewServer(hssNode, scfg); err != nil {
		t.Fatal(err)
	}
	aaa.setPeer(r.server)
	hssNode.setPeer(r.client)
	return r
}

// profiles is a ProfileSource from a map.
type profiles map[string]Profile

func (p profiles) Profile(_ context.Context, imsi string) (Profile, error) {
	if pr, ok := p[imsi]; ok {
		return pr, nil
	}
	return Profile{}, aka.ErrUnknownSubscriber
}
