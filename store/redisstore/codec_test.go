package redisstore

import (
	"bytes"
	"testing"
	"time"

	"github.com/aaa-project/aaa/eap"
)

// A stored value comes from a shared backend: whatever it holds, decoding
// it is an error or a conversation, never a panic, and a conversation
// decoded from a value encodes back to it.
func FuzzDecodeConversation(f *testing.F) {
	c := eap.Conversation{Peer: "lab", State: eap.StateChallenge, Method: eap.TypeAKAPrime,
		Identity: []byte("6001010000000001@realm"), IMSI: "001010000000001", IDHash: []byte{1, 2, 3},
		Expires: time.UnixMilli(1_800_000_000_000), NextPseudonym: "p", NextReauthID: "r"}
	f.Add(encodeConversation(nil, &c))
	f.Add(encodeConversation(nil, &eap.Conversation{}))
	f.Add([]byte{convFormat, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		var got eap.Conversation
		if decodeConversation(b, &got) != nil {
			return
		}
		want := b
		if b[0] == 3 {
			// Format 3 (a node of the version before) comes back as
			// format 4 with an empty KeyName.
			want = append(append([]byte{convFormat}, b[1:]...), 0, 0)
		}
		if again := encodeConversation(nil, &got); !bytes.Equal(again, want) {
			t.Fatalf("decode then encode changed the value:\n%x\n%x", want, again)
		}
	})
}

func FuzzDecodeReauth(f *testing.F) {
	r := eap.ReauthRecord{IMSI: "001010000000001", Method: eap.TypeAKA, Counter: 3, Expires: time.UnixMilli(1_800_000_000_000)}
	f.Add(encodeReauth(nil, &r))
	f.Add([]byte{reauthFormat})
	f.Fuzz(func(t *testing.T, b []byte) {
		var got eap.ReauthRecord
		if decodeReauth(b, &got) != nil {
			return
		}
		if again := encodeReauth(nil, &got); !bytes.Equal(again, b) {
			t.Fatalf("decode then encode changed the value:\n%x\n%x", b, again)
		}
	})
}
