package fdtest

import (
	"errors"
	"net"
	"testing"
	"time"

	"github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/avp"
	"github.com/fiorix/go-diameter/v4/diam/datatype"
	"github.com/fiorix/go-diameter/v4/diam/sm"
	"github.com/fiorix/go-diameter/v4/diam/sm/smparser"
	"github.com/fiorix/go-diameter/v4/diam/sm/smpeer"
)

const (
	vendor3GPP = 10415
	// answerTimeout bounds each wait for an answer from freeDiameterd.
	answerTimeout = 5 * time.Second
	// peerOpenTimeout bounds the wait for freeDiameterd to connect to a
	// ConnectPeers peer.
	peerOpenTimeout = 10 * time.Second
	// retryPause separates two tries of a request that freeDiameterd
	// could not route yet.
	retryPause = 10 * time.Millisecond
	// refusedTimeout bounds the wait for the CEA of a refused peer.
	refusedTimeout = 2 * time.Second
)

func settings(host string) *sm.Settings {
	return &sm.Settings{
		OriginHost:  datatype.DiameterIdentity(host),
		OriginRealm: "test",
		VendorID:    vendor3GPP,
		ProductName: "aaa-fdtest",
		// Loopback: go-diameter would take it from the connection,
		// set here so the CER does not depend on it.
		HostIPAddresses: []datatype.Address{datatype.Address(net.ParseIP("127.0.0.1"))},
	}
}

// TestRelay runs one freeDiameterd and checks, against it, a real Diameter
// exchange (CER/CEA, DWR/DWA) from an allowed peer and the refusal of a
// peer that acl_wl does not allow.
func TestRelay(t *testing.T) {
	// One identity per connection: freeDiameterd 1.2.1 may refuse a
	// CER from an identity whose previous connection has just closed.
	r := Start(t, Config{AllowedHosts: []string{"aaa.test", "raw.test"}})
	if r.Identity != "relay.test" || r.Realm != "test" || r.Port == 0 {
		t.Fatalf("relay %+v: want relay.test in test on a port", r)
	}

	t.Run("rawCEA", func(t *testing.T) {
		// The CEA itself, read without the state machine.
		cea := rawCER(t, r.Addr, "raw.test")
		if cea == nil {
			t.Fatal("freeDiameterd closed the connection of the allowed raw.test")
		}
		if rc := resultCode(t, cea); rc != diam.Success {
			t.Fatalf("CEA Result-Code %d, want %d\n%s", rc, diam.Success, cea)
		}
		if oh := originHost(t, cea); oh != "relay.test" {
			t.Fatalf("CEA Origin-Host %q, want relay.test", oh)
		}
	})

	t.Run("allowed", func(t *testing.T) {
		answers := make(chan *diam.Message, 4)
		mach := sm.New(settings("aaa.test"))
		mach.HandleFunc("DWA", func(_ diam.Conn, m *diam.Message) { answers <- m })
		cli := &sm.Client{Handler: mach}
		// Dial returns once a CEA came back: an error unless its
		// Result-Code was 2001 (smparser.ErrFailedResultCode).
		c, err := cli.DialTimeout(r.Addr, answerTimeout)
		if err != nil {
			t.Fatalf("CER/CEA with %s as aaa.test: %v", r.Addr, err)
		}
		defer c.Close()
		meta, ok := smpeer.FromContext(c.Context())
		if !ok {
			t.Fatal("no peer metadata after the handshake")
		}
		if meta.OriginHost != "relay.test" || meta.OriginRealm != "test" {
			t.Fatalf("CEA from %s in %s, want relay.test in test", meta.OriginHost, meta.OriginRealm)
		}

		dwr := diam.NewRequest(diam.DeviceWatchdog, 0, nil)
		dwr.NewAVP(avp.OriginHost, avp.Mbit, 0, datatype.DiameterIdentity("aaa.test"))
		dwr.NewAVP(avp.OriginRealm, avp.Mbit, 0, datatype.DiameterIdentity("test"))
		if _, err := dwr.WriteTo(c); err != nil {
			t.Fatalf("send DWR: %v", err)
		}
		select {
		case dwa := <-answers:
			if dwa.Header.HopByHopID != dwr.Header.HopByHopID || dwa.Header.EndToEndID != dwr.Header.EndToEndID {
				t.Errorf("DWA ids %d/%d, want the DWR's %d/%d", dwa.Header.HopByHopID, dwa.Header.EndToEndID,
					dwr.Header.HopByHopID, dwr.Header.EndToEndID)
			}
			if rc := resultCode(t, dwa); rc != diam.Success {
				t.Errorf("DWA Result-Code %d, want %d\n%s", rc, diam.Success, dwa)
			}
			if oh := originHost(t, dwa); oh != "relay.test" {
				t.Errorf("DWA Origin-Host %q, want relay.test", oh)
			}
		case <-time.After(answerTimeout):
			t.Fatalf("no DWA within %v", answerTimeout)
		}
	})

	t.Run("refused", func(t *testing.T) {
		cea := rawCER(t, r.Addr, "intruder.test")
		if cea == nil {
			t.Log("raw CER: connection closed without a CEA")
		} else if rc := resultCode(t, cea); rc == diam.Success {
			t.Fatalf("intruder.test (not in AllowedHosts) was accepted: CEA Result-Code %d", rc)
		} else {
			t.Logf("raw CER: CEA Result-Code %d", rc)
		}
		// And the state machine client reports it as an error (as
		// another identity: see TestRelay's AllowedHosts).
		// (When freeDiameterd closes the connection without a CEA,
		// go-diameter notices only at RetransmitInterval.)
		cli := &sm.Client{Handler: sm.New(settings("stranger.test")), RetransmitInterval: refusedTimeout}
		c, err := cli.DialTimeout(r.Addr, answerTimeout)
		if err == nil {
			c.Close()
			t.Fatal("stranger.test (not in AllowedHosts) completed the handshake")
		}
		var failed *smparser.ErrFailedResultCode
		if errors.As(err, &failed) {
			t.Logf("refused with CEA Result-Code %d", failed.ResultCode)
		} else {
			t.Logf("refused: %v", err)
		}
	})
}

// rawCER sends a CER from host on a plain go-diameter connection and
// returns the CEA, or nil when freeDiameterd closed the connection instead.
func rawCER(t *testing.T, addr, host string) *diam.Message {
	t.Helper()
	ceas := make(chan *diam.Message, 1)
	mux := diam.NewServeMux()
	mux.HandleFunc("CEA", func(_ diam.Conn, m *diam.Message) {
		select {
		case ceas <- m:
		default:
		}
	})
	c, err := diam.DialTimeout(addr, mux, nil, answerTimeout)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer c.Close()
	closed := c.(diam.CloseNotifier).CloseNotify()
	cer := diam.NewRequest(diam.CapabilitiesExchange, 0, nil)
	cer.NewAVP(avp.OriginHost, avp.Mbit, 0, datatype.DiameterIdentity(host))
	cer.NewAVP(avp.OriginRealm, avp.Mbit, 0, datatype.DiameterIdentity("test"))
	cer.NewAVP(avp.HostIPAddress, avp.Mbit, 0, datatype.Address(net.ParseIP("127.0.0.1")))
	cer.NewAVP(avp.VendorID, avp.Mbit, 0, datatype.Unsigned32(vendor3GPP))
	cer.NewAVP(avp.ProductName, 0, 0, datatype.UTF8String("aaa-fdtest"))
	if _, err := cer.WriteTo(c); err != nil {
		t.Fatalf("send CER: %v", err)
	}
	select {
	case cea := <-ceas:
		return cea
	case <-closed:
		select { // a CEA read just before the close
		case cea := <-ceas:
			return cea
		default:
			return nil
		}
	case <-time.After(answerTimeout):
		t.Fatalf("no CEA (nor close) within %v", answerTimeout)
		return nil
	}
}

func resultCode(t *testing.T, m *diam.Message) uint32 {
	t.Helper()
	a, err := m.FindAVP(avp.ResultCode, 0)
	if err != nil {
		t.Fatalf("no Result-Code: %v\n%s", err, m)
	}
	return uint32(a.Data.(datatype.Unsigned32))
}

func originHost(t *testing.T, m *diam.Message) string {
	t.Helper()
	a, err := m.FindAVP(avp.OriginHost, 0)
	if err != nil {
		t.Fatalf("no Origin-Host: %v\n%s", err, m)
	}
	return string(a.Data.(datatype.DiameterIdentity))
}

// TestRelayToPeer checks ConnectPeers: freeDiameterd connects to a
// go-diameter server as hss.test and relays an SWx Multimedia-Auth-Request
// from aaa.test to it, and its answer back, with no SWx dictionary loaded.
func TestRelayToPeer(t *testing.T) {
	const swx = 16777265
	hss := sm.New(settings("hss.test"))
	hss.HandleFunc("MAR", func(c diam.Conn, m *diam.Message) {
		a := m.Answer(diam.Success)
		a.NewAVP(avp.OriginHost, avp.Mbit, 0, datatype.DiameterIdentity("hss.test"))
		a.NewAVP(avp.OriginRealm, avp.Mbit, 0, datatype.DiameterIdentity("test"))
		a.NewAVP(avp.AuthSessionState, avp.Mbit, 0, datatype.Enumerated(1))
		if _, err := a.WriteTo(c); err != nil {
			t.Errorf("hss.test: send MAA: %v", err)
		}
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &diam.Server{Handler: hss}
	served := make(chan struct{})
	go func() {
		defer close(served)
		srv.Serve(l)
	}()
	t.Cleanup(func() {
		srv.Close()
		<-served
	})

	r := Start(t, Config{
		AllowedHosts: []string{"aaa.test"},
		ConnectPeers: []Peer{{Host: "hss.test", Port: l.Addr().(*net.TCPAddr).Port}},
	})
	// Usually at once, but up to 4 s later now and then (see ConnectPeers).
	r.WaitPeerOpen(t, "hss.test", peerOpenTimeout)
	select {
	case c := <-hss.HandshakeNotify():
		if meta, _ := smpeer.FromContext(c.Context()); meta == nil || meta.OriginHost != "relay.test" {
			t.Fatalf("hss.test: CER from %+v, want relay.test", meta)
		}
	case <-time.After(answerTimeout):
		t.Fatal("hss.test: no handshake from freeDiameterd")
	}

	maas := make(chan *diam.Message, 1)
	aaa := sm.New(settings("aaa.test"))
	aaa.HandleFunc("MAA", func(_ diam.Conn, m *diam.Message) { maas <- m })
	swxApp := diam.NewAVP(avp.VendorSpecificApplicationID, avp.Mbit, 0, &diam.GroupedAVP{AVP: []*diam.AVP{
		diam.NewAVP(avp.VendorID, avp.Mbit, 0, datatype.Unsigned32(vendor3GPP)),
		diam.NewAVP(avp.AuthApplicationID, avp.Mbit, 0, datatype.Unsigned32(swx)),
	}})
	cli := &sm.Client{Handler: aaa, VendorSpecificApplicationID: []*diam.AVP{swxApp}}
	c, err := cli.DialTimeout(r.Addr, answerTimeout)
	if err != nil {
		t.Fatalf("CER/CEA with %s as aaa.test: %v", r.Addr, err)
	}
	defer c.Close()

	// freeDiameterd logs hss.test's STATE_OPEN just before it adds the
	// peer to the list it routes to: a request sent in between gets 3002
	// (DIAMETER_UNABLE_TO_DELIVER) from relay.test. Retried until the
	// deadline, hss.test's answer must come back.
	deadline := time.Now().Add(answerTimeout)
	for attempt := 1; ; attempt++ {
		mar := diam.NewRequest(303, swx, nil)
		mar.Header.CommandFlags |= diam.ProxiableFlag
		mar.NewAVP(avp.SessionID, avp.Mbit, 0, datatype.UTF8String("aaa.test;1;fdtest"))
		mar.AddAVP(swxApp)
		mar.NewAVP(avp.AuthSessionState, avp.Mbit, 0, datatype.Enumerated(1))
		mar.NewAVP(avp.OriginHost, avp.Mbit, 0, datatype.DiameterIdentity("aaa.test"))
		mar.NewAVP(avp.OriginRealm, avp.Mbit, 0, datatype.DiameterIdentity("test"))
		mar.NewAVP(avp.DestinationHost, avp.Mbit, 0, datatype.DiameterIdentity("hss.test"))
		mar.NewAVP(avp.DestinationRealm, avp.Mbit, 0, datatype.DiameterIdentity("test"))
		mar.NewAVP(avp.UserName, avp.Mbit, 0, datatype.UTF8String("0001010000000001@test"))
		if _, err := mar.WriteTo(c); err != nil {
			t.Fatalf("send MAR: %v", err)
		}
		var maa *diam.Message
		select {
		case maa = <-maas:
		case <-time.After(time.Until(deadline)):
			t.Fatalf("no MAA within %v (%d MARs sent)", answerTimeout, attempt)
		}
		if maa.Header.HopByHopID != mar.Header.HopByHopID {
			t.Fatalf("MAA Hop-by-Hop %#x, want the MAR's %#x", maa.Header.HopByHopID, mar.Header.HopByHopID)
		}
		rc, oh := resultCode(t, maa), originHost(t, maa)
		if rc == diam.UnableToDeliver && oh == "relay.test" && time.Now().Before(deadline) {
			time.Sleep(retryPause) // between two tries, not a readiness wait
			continue
		}
		if rc != diam.Success {
			t.Errorf("MAA Result-Code %d, want %d\n%s", rc, diam.Success, maa)
		}
		if oh != "hss.test" {
			t.Errorf("MAA Origin-Host %q, want hss.test (relayed)", oh)
		}
		if attempt > 1 {
			t.Logf("MAR relayed at the %d. try", attempt)
		}
		return
	}
}
