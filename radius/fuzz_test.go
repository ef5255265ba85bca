package radius

import (
	"context"
	"testing"

	"layeh.com/radius"

	"github.com/aaa-project/aaa/eap"
)

// FuzzProcess feeds arbitrary datagrams from a known client through the
// whole request path. Properties: no panic gets as far as the recover (it
// would be counted), and whatever is answered is a well-formed, authentic
// response with Message-Authenticator first.
func FuzzProcess(f *testing.F) {
	f.Add(request(f, 1, secret, eapResp, nil, false))
	f.Add(request(f, 2, secret, eapResp, []byte("0123456789abcdef"), false))
	f.Add(request(f, 3, secret, make([]byte, 600), nil, false))
	f.Add(request(f, 4, secret, nil, nil, false))
	f.Add(request(f, 5, secret, eapResp, nil, true))
	f.Add([]byte{1, 0, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, pkt []byte) {
		h := &scriptedEAP{outcome: eap.OutcomeContinue, packet: []byte{1, 1, 0, 5, 1}}
		s, err := New(Config{Listen: "127.0.0.1:0", Clients: []ClientConfig{{Name: "lab", Address: "127.0.0.0/8", Secret: secret}}}, h, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp := s.process(context.Background(), nas, pkt)
		if s.Stats.Dropped(DropPanic) != 0 {
			t.Fatal("request path panicked")
		}
		if resp == nil {
			return
		}
		if !radius.IsAuthenticResponse(resp, pkt, []byte(secret)) {
			t.Fatal("answer not authentic")
		}
		if resp[20] != attrMessageAuthenticator {
			t.Fatal("answer without Message-Authenticator first")
		}
		if _, err := radius.Parse(resp, []byte(secret)); err != nil {
			t.Fatalf("answer does not parse: %v", err)
		}
	})
}
