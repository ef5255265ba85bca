package eap

import (
	"context"
	"errors"
	"time"

	"github.com/aaa-project/aaa/aka"
)

// ConversationID names one EAP conversation. The RADIUS front end sends it
// as the State attribute (RFC 2865 5.24) and gets it back with the next
// response. It is 16 octets from crypto/rand, so it cannot be guessed.
type ConversationID [16]byte

// State is where a conversation stands (RFC 4187 state names, as hostapd's
// eap_server_aka.c has them).
type State uint8

const (
	// StateIdentity: an AKA-Identity request is outstanding.
	StateIdentity State = iota + 1
	// StateChallenge: an AKA-Challenge request is outstanding.
	StateChallenge
	// StateNotification: a failure AKA-Notification is outstanding; any
	// answer ends in EAP-Failure (RFC 4187 6.3.1).
	StateNotification
	// StateReauth: an AKA-Reauthentication request is outstanding.
	StateReauth
	// StateSuccessNotification: the peer asked for protected result
	// indications and an AKA-Notification "Success" is outstanding; its
	// acknowledgement gets EAP-Success (RFC 4187 6.2).
	StateSuccessNotification
	// StateDone: the conversation ended; Reply holds the EAP-Success or
	// EAP-Failure sent, kept (by a store shared between nodes) for a
	// retransmission that reaches another node.
	StateDone
)

func (s State) String() string {
	switch s {
	case StateIdentity:
		return "identity"
	case StateChallenge:
		return "challenge"
	case StateNotification:
		return "notification"
	case StateReauth:
		return "reauth"
	case StateSuccessNotification:
		return "success_notification"
	case StateDone:
		return "done"
	}
	return "unknown"
}

// Conversation is the server's state for one EAP-AKA/AKA' exchange. It holds
// session keys, so it never leaves the process except through a
// ConversationStore, is never logged (String redacts) and is zeroed when it
// ends.
type Conversation struct {
	ID ConversationID
	// Peer is the access point or gateway that opened the conversation
	// (Peer.Name): only messages through it continue the conversation.
	// PeerShare is that peer's share of the store (Peer.MaxConversations)
	// when it opened it, which the store enforces on a new conversation.
	Peer      string
	PeerShare int
	// Opened is when the conversation was opened: a store shared between
	// nodes counts a peer's share by when its conversations opened.
	Opened time.Time
	// Version is the stored version this copy was read at (0: never
	// stored). Put and Finish succeed only while it is current, so two
	// packets working on copies of one conversation cannot both act.
	Version uint32
	// Cached is set by a store whose Get answered from the copy this
	// node wrote last (not stored): another node may have moved the
	// conversation on since, which Put and Finish find out.
	Cached  bool
	State   State
	Method  Type  // TypeAKA or TypeAKAPrime
	LastID  uint8 // Identifier of the request we sent last
	Expires time.Time

	// Reply is the last message sent (a request, or once StateDone the
	// EAP-Success or EAP-Failure) and ReplyTo the digest of the response
	// it answered (replyDigest): a retransmission of that response gets
	// Reply again, on whichever node it lands.
	Reply   []byte
	ReplyTo [16]byte

	// Identity is the identity keys are derived from: the last AT_IDENTITY,
	// or the EAP-Response/Identity when none was sent (RFC 4187 7).
	Identity []byte
	// IMSI is set once a permanent identity is known.
	IMSI string

	// Requests counts method requests sent: a Nak is only valid as the answer
	// to the first one (RFC 3748 5.3.1).
	Requests       uint8
	Naked          bool
	IdentityRounds uint8
	Resynced       bool
	// FailReason is why a failure AKA-Notification was sent.
	FailReason Reason
	// LastIDReq is the last identity request sent (AT_ANY_ID_REQ,
	// AT_FULLAUTH_ID_REQ or AT_PERMANENT_ID_REQ): each round must ask for
	// more than the one before (RFC 4187 4.1.1.x).
	LastIDReq AttrType

	// Fast re-authentication: Reauth is set once one is under way;
	// Counter is the AT_COUNTER sent (0 for a full authentication) and
	// NonceS the AT_NONCE_S. FullAuthAt dates the full authentication the
	// keys come from.
	Reauth     bool
	Counter    uint16
	NonceS     [16]byte
	FullAuthAt time.Time
	// NextPseudonym and NextReauthID are the usernames (no prefix, no
	// realm) sent in AT_ENCR_DATA, stored when the authentication
	// succeeds.
	NextPseudonym string
	NextReauthID  string

	// IDHash is the state of the AT_CHECKCODE hash (RFC 4187 10.13: SHA-1,
	// RFC 9048 3.4: SHA-256) over every AKA-Identity request and response
	// of this method run, in order, as the hash marshals it: about 100
	// octets however long the messages were. Empty when there were none.
	IDHash []byte

	RAND    [aka.RANDLen]byte
	XRES    [aka.MaxRES]byte
	XRESLen uint8
	Keys    aka.Keys
	// KeyName is the EAP Session-Id (Result.KeyName), set once the peer
	// proved itself.
	KeyName []byte

	// networkName is the network name the gateway of the message being
	// handled reported (Peer.NetworkName); never stored.
	networkName string
}

// keyName is the EAP Session-Id of c (RFC 5247 appendix A; RFC 4187 7
// and RFC 9048 3.3 for the parts): the method type, then RAND || AUTN
// from the challenge c sent last, or NONCE_S || MAC from its
// re-authentication request. nil when the request is not there.
func (c *Conversation) keyName() []byte {
	m, err := ParseAKA(c.Reply)
	if err != nil {
		return nil
	}
	a := &m.Attrs
	out := make([]byte, 0, 33)
	out = append(out, byte(c.Method))
	switch {
	case !c.Reauth && len(a.RAND) == aka.RANDLen && len(a.AUTN) == aka.AUTNLen:
		out = append(append(out, a.RAND...), a.AUTN...)
	case c.Reauth && a.MACOffset >= 0 && a.MACOffset+16 <= len(c.Reply):
		out = append(append(out, c.NonceS[:]...), c.Reply[a.MACOffset:a.MACOffset+16]...)
	default:
		return nil
	}
	return out
}

// Clear zeroes the key material of a finished conversation and drops the
// rest. Slices are dropped, not zeroed: copies of a conversation share them.
func (c *Conversation) Clear() {
	c.wipe()
	*c = Conversation{}
}

// wipe zeroes the secrets a copy holds: keys, XRES, RAND.
func (c *Conversation) wipe() {
	c.Keys.Clear()
	clear(c.XRES[:])
	clear(c.RAND[:])
}

// String keeps keys out of logs.
func (c *Conversation) String() string { return "eap.Conversation{REDACTED}" }

// GoString does the same for %#v.
func (c *Conversation) GoString() string { return c.String() }

// Errors a ConversationStore returns.
var (
	// ErrConversationNotFound: no live conversation has that ID (never
	// existed, finished, or expired).
	ErrConversationNotFound = errors.New("eap: conversation not found")
	// ErrStoreFull: the store holds as many live conversations, or as
	// many bytes of them, as it may.
	ErrStoreFull = errors.New("eap: conversation store full")
	// ErrPeerFull: the conversation's peer holds its whole share of the
	// store (Conversation.PeerShare); other peers are not affected.
	ErrPeerFull = errors.New("eap: peer's share of the conversation store full")
	// ErrConversationConflict: the conversation changed (or ended) since
	// this copy was read; the write is refused.
	ErrConversationConflict = errors.New("eap: conversation changed meanwhile")
)

// ConversationStore keeps conversations between packets. Implementations
// must copy on Put and Get (a conversation is a value: two packets never
// share one), bound their size, drop a conversation once it expires, and
// compare versions so that of two packets working on one conversation only
// the first to write wins (a compare-and-swap, atomic on every node).
type ConversationStore interface {
	// Get copies the live conversation id into c, Version included. A
	// store shared between nodes may answer from the copy this node
	// wrote last, without asking the backend, and then sets c.Cached.
	Get(ctx context.Context, id ConversationID, c *Conversation) error
	// GetFresh is Get from the backend itself, never from a cached copy.
	GetFresh(ctx context.Context, id ConversationID, c *Conversation) error
	// Put stores a copy of c under c.ID until c.Expires and advances
	// c.Version: a new conversation (Version 0) only if id is free, an
	// existing one only if its stored Version is still c.Version.
	// Otherwise ErrConversationConflict: it is never re-created once
	// deleted. A new conversation counts against the share of c.Peer:
	// with c.PeerShare > 0 and that many of the peer's conversations
	// live, Put refuses it with ErrPeerFull; past the store's own bounds
	// (entries or bytes), with ErrStoreFull.
	Put(ctx context.Context, c *Conversation) error
	// Finish ends the conversation c was read at, if its stored Version
	// is still c.Version (ErrConversationConflict if not,
	// ErrConversationNotFound if it is gone; Version 0, never stored, is
	// no conflict), and stores the records h hands out (h may be nil),
	// in one round trip where the backend allows.
	//
	// c is the conversation as it ended (State StateDone, Reply the
	// EAP-Success or EAP-Failure): a store shared between nodes keeps it
	// until c.Expires, so that a retransmission reaching another node
	// gets the same answer; a store of one process may forget it at once
	// (the transport's duplicate cache answers retransmissions there).
	// The records are stored whatever the outcome for c: a copy that
	// lost the race hands out the same ones. If only they could not be
	// stored, Finish returns ErrRecordsNotStored.
	Finish(ctx context.Context, c *Conversation, h *Handouts) error
}
