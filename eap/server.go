package eap

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding"
	"errors"
	"fmt"
	"hash"
	"slices"
	"time"

	"github.com/aaa-project/aaa/aka"
)

// VectorSource supplies authentication vectors. The EAP layer declares what
// it needs; the hss package implements it (in process with Milenage, or over
// SWx), and cmd wires the two, so long-term keys never reach this package.
type VectorSource interface {
	// Vector returns a fresh vector for imsi. networkName is empty for
	// EAP-AKA. For EAP-AKA' it is the access network name: the vector must
	// have the AMF separation bit set, and the source may return CK'/IK'
	// already derived (Vector.Prime), as an HSS over SWx does.
	Vector(ctx context.Context, imsi, networkName string) (aka.Vector, error)
	// Resync hands the HSS the AUTS a USIM returned for rand
	// (TS 33.102 6.3.5) and returns a vector fresh for that USIM, for
	// networkName as Vector does: over SWx the resynchronisation is a
	// MAR that carries RAND || AUTS and brings the new vector back in
	// the same round trip. aka.ErrAUTSInvalid means the AUTS did not
	// verify.
	Resync(ctx context.Context, imsi, networkName string, rand *[aka.RANDLen]byte, auts *[aka.AUTSLen]byte) (aka.Vector, error)
}

// Registrar is told of each subscriber that has proven itself, before it
// gets EAP-Success: over SWx this registers the AAA server with the HSS
// (Server-Assignment-Request) and fetches the subscriber's non-3GPP
// profile. aka.ErrNotAuthorized or aka.ErrUnknownSubscriber refuses access
// (EAP-Failure); any other error gets no answer, and the access point
// retries.
type Registrar interface {
	Register(ctx context.Context, imsi string) error
}

// Outcome is what the transport does with a Result.
type Outcome uint8

const (
	// OutcomeContinue: send Packet (an EAP-Request) and expect another
	// response for Result.Conversation (RADIUS Access-Challenge).
	OutcomeContinue Outcome = iota + 1
	// OutcomeSuccess: send Packet (EAP-Success) with the keys (Access-Accept).
	OutcomeSuccess
	// OutcomeFailure: send Packet (EAP-Failure) (Access-Reject).
	OutcomeFailure
	// OutcomeDiscard: send nothing (RFC 3748 silent discard).
	OutcomeDiscard
)

func (o Outcome) String() string {
	switch o {
	case OutcomeContinue:
		return "continue"
	case OutcomeSuccess:
		return "success"
	case OutcomeFailure:
		return "failure"
	case OutcomeDiscard:
		return "discard"
	}
	return "unknown"
}

// Reason says why a conversation failed or a packet was discarded. Its
// String is a fixed label for logs and counters.
type Reason uint8

const (
	ReasonNone Reason = iota
	ReasonMalformed
	ReasonNotResponse
	ReasonUnexpected
	ReasonIdentifierMismatch
	ReasonUnknownConversation
	ReasonStoreFull
	ReasonUnknownSubscriber
	ReasonNoIdentity
	ReasonNoCommonMethod
	ReasonAuthenticationReject
	ReasonClientError
	ReasonSyncFailure
	ReasonMACMismatch
	ReasonRESMismatch
	ReasonCheckcodeMismatch
	ReasonKDFNegotiation
	ReasonConflict
	ReasonPeerFull
	ReasonPeerMismatch
	ReasonVectorRate
	ReasonNotAuthorized
	numReasons
)

var reasonNames = [numReasons]string{
	ReasonNone:                 "none",
	ReasonMalformed:            "malformed",
	ReasonNotResponse:          "not_response",
	ReasonUnexpected:           "unexpected_message",
	ReasonIdentifierMismatch:   "identifier_mismatch",
	ReasonUnknownConversation:  "unknown_conversation",
	ReasonStoreFull:            "store_full",
	ReasonUnknownSubscriber:    "unknown_subscriber",
	ReasonNoIdentity:           "no_usable_identity",
	ReasonNoCommonMethod:       "no_common_method",
	ReasonAuthenticationReject: "authentication_reject",
	ReasonClientError:          "client_error",
	ReasonSyncFailure:          "sync_failure",
	ReasonMACMismatch:          "mac_mismatch",
	ReasonRESMismatch:          "res_mismatch",
	ReasonCheckcodeMismatch:    "checkcode_mismatch",
	ReasonKDFNegotiation:       "kdf_negotiation",
	ReasonConflict:             "conversation_conflict",
	ReasonPeerFull:             "client_share_full",
	ReasonPeerMismatch:         "wrong_client",
	ReasonVectorRate:           "vector_rate",
	ReasonNotAuthorized:        "not_authorized",
}

func (r Reason) String() string {
	if r < numReasons {
		return reasonNames[r]
	}
	return "unknown"
}

// NumReasons is the number of Reason values, for counter arrays.
const NumReasons = int(numReasons)

// Result is what Handle decided. Packet aliases the buffer passed to Handle.
type Result struct {
	Outcome Outcome
	Reason  Reason
	Packet  []byte
	// Conversation is the handle to echo with the next response (Continue).
	Conversation ConversationID
	Method       Type
	// Identity is the identity the keys were derived from and IMSI the
	// subscriber, both set on success.
	Identity []byte
	IMSI     string
	// Resynced is true when the conversation went through a
	// resynchronisation, FastReauth when it was a fast re-authentication.
	Resynced   bool
	FastReauth bool
	// NotStored counts, on success, the identities handed out (a pseudonym,
	// a re-authentication identity) that the store refused, full or
	// failing: the peer will fall back to a fuller authentication.
	NotStored int
	// MSK and EMSK are set on success (RFC 4187 7, RFC 9048 3.3).
	MSK, EMSK [64]byte
	// KeyName is the EAP Session-Id on success (RFC 5247 appendix A):
	// the method type, then RAND || AUTN (full authentication) or
	// NONCE_S || MAC (fast re-authentication), RFC 4187 and RFC 9048.
	// Diameter EAP sends it as EAP-Key-Name.
	KeyName []byte
	// IdentityRound is set when Packet is an AKA-Identity request: the
	// peer's identity could not be used as it was (anonymous, unknown
	// pseudonym, stale re-authentication identity), and costs a round.
	IdentityRound bool
	// Replayed is set when Packet is the answer already given to this
	// very message (a retransmission), read back from the conversation:
	// nothing happened that a transport should count again.
	Replayed bool

	// fromCache: the conversation was the store's cached copy.
	fromCache bool
	// storeErr: the store failed to end the conversation, so whether
	// this is its one answer is unknown: Handle answers nothing.
	storeErr error
}

// Clear zeroes the keys of a result once the transport has used them.
func (r *Result) Clear() {
	clear(r.MSK[:])
	clear(r.EMSK[:])
}

// kdfAKAPrime is the only key derivation function defined for EAP-AKA'
// (RFC 9048 3.1, AT_KDF value 1).
const kdfAKAPrime = 1

// biddingSupportsAKAPrime is the D bit of AT_BIDDING (RFC 9048 4).
const biddingSupportsAKAPrime = 0x8000

// notificationGeneralFailure is "General failure" before authentication:
// S bit clear (failure), P bit set (no AT_MAC needed) (RFC 4187 10.19).
const notificationGeneralFailure = 16384

// IdentityDecrypter recovers the permanent identity from an encrypted one
// (an identity starting with a NUL octet: IMSI privacy for Wi-Fi). The
// privacy package implements it.
type IdentityDecrypter interface {
	Decrypt(identity []byte) ([]byte, error)
}

// Peer is the access point or gateway an EAP message came through, as the
// transport knows it: a RADIUS client, a Diameter peer.
type Peer struct {
	// Name binds a conversation to the peer that opened it: a message
	// that carries the conversation's state through another peer is
	// answered as one for an unknown conversation and changes nothing.
	Name string
	// MaxConversations is the peer's share of the conversation store:
	// the most conversations it may have open at once, so that one peer
	// that floods fills only its own share (0: only the store's bound).
	MaxConversations int
	// NetworkName, when set, is the access network name this message's
	// gateway reported (ANID over STa/SWm): EAP-AKA' challenges sent in
	// answer to it use it (AT_KDF_INPUT, CK'/IK') instead of the
	// configured one. At most MaxNetworkName octets.
	NetworkName string
}

// MaxNetworkName bounds a network name a gateway may give (Peer.NetworkName).
const MaxNetworkName = 253

// PseudonymPolicy configures pseudonyms (RFC 4187 4.1.1.7).
type PseudonymPolicy struct {
	Enabled  bool
	Lifetime time.Duration
	// Sealed, when set, makes stateless pseudonyms; otherwise they are
	// random and kept in the Store.
	Sealed *SealedPseudonyms
}

// ReauthPolicy configures fast re-authentication (RFC 4187 5).
type ReauthPolicy struct {
	Enabled bool
	// Lifetime is how long an unused re-authentication identity stays
	// valid; MaxAge how long after the full authentication its keys may
	// still be used; MaxCount how many fast re-authentications may follow
	// one full authentication.
	Lifetime time.Duration
	MaxAge   time.Duration
	MaxCount uint16
}

// ServerConfig is the parsed EAP configuration.
type ServerConfig struct {
	// Methods are the enabled methods, TypeAKAPrime and/or TypeAKA, most
	// preferred first.
	Methods []Type
	// NetworkName is the access network name for EAP-AKA' (AT_KDF_INPUT,
	// TS 24.302 8.1.1.1); "WLAN" for Wi-Fi.
	NetworkName string
	// Timeout is how long a conversation lives without an answer.
	Timeout    time.Duration
	Pseudonyms PseudonymPolicy
	FastReauth ReauthPolicy
	// ResultIndications offers AT_RESULT_IND (RFC 4187 6.2).
	ResultIndications bool
	// Identities decrypts privacy-protected identities; nil treats them
	// as unknown identities.
	Identities IdentityDecrypter
	// Registrar, when set, is told of every subscriber that proved
	// itself, before the EAP-Success (nil: nobody is told).
	Registrar Registrar
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Server is the EAP-AKA/AKA' authenticator state machine. It is
// transport-free: RADIUS and Diameter front ends both drive it through
// Handle. It is safe for concurrent use.
type Server struct {
	methods     []Type
	networkName string
	timeout     time.Duration
	pseudonyms  PseudonymPolicy
	reauth      ReauthPolicy
	resultInd   bool
	identities  IdentityDecrypter
	registrar   Registrar
	now         func() time.Time
	vectors     VectorSource
	store       Store
}

// NewServer checks cfg and returns a Server. It starts nothing.
func NewServer(cfg ServerConfig, vectors VectorSource, store Store) (*Server, error) {
	if len(cfg.Methods) == 0 {
		return nil, errors.New("eap: no method enabled")
	}
	for i, m := range cfg.Methods {
		if m != TypeAKA && m != TypeAKAPrime {
			return nil, fmt.Errorf("eap: method %d: not EAP-AKA or EAP-AKA'", i)
		}
		if slices.Index(cfg.Methods, m) != i {
			return nil, fmt.Errorf("eap: method %s listed twice", m)
		}
	}
	if slices.Contains(cfg.Methods, TypeAKAPrime) && cfg.NetworkName == "" {
		return nil, errors.New("eap: EAP-AKA' needs a network name")
	}
	if cfg.Timeout <= 0 {
		return nil, errors.New("eap: conversation timeout must be positive")
	}
	if cfg.Pseudonyms.Enabled && cfg.Pseudonyms.Lifetime <= 0 {
		return nil, errors.New("eap: pseudonym lifetime must be positive")
	}
	if cfg.FastReauth.Enabled && (cfg.FastReauth.Lifetime <= 0 || cfg.FastReauth.MaxAge <= 0 || cfg.FastReauth.MaxCount == 0) {
		return nil, errors.New("eap: fast re-authentication needs a positive lifetime, max age and max count")
	}
	if vectors == nil || store == nil {
		return nil, errors.New("eap: vector source and store are required")
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return &Server{
		methods:     slices.Clone(cfg.Methods),
		networkName: cfg.NetworkName,
		timeout:     cfg.Timeout,
		pseudonyms:  cfg.Pseudonyms,
		reauth:      cfg.FastReauth,
		resultInd:   cfg.ResultIndications,
		identities:  cfg.Identities,
		registrar:   cfg.Registrar,
		now:         now,
		vectors:     vectors,
		store:       store,
	}, nil
}

// Handle processes one EAP message from the peer that came through from
// (the access point or gateway). state is the conversation handle the
// transport got back (nil for the first message, which must be an
// EAP-Response/Identity). The reply is appended to buf[:0]; give it 1 KiB of
// capacity to avoid allocation. An error means the server could not decide
// (a vector source or store outage): the transport sends nothing, so the
// access point retries or fails over, and the conversation is unchanged.
func (s *Server) Handle(ctx context.Context, from Peer, state, msg, buf []byte, res *Result) error {
	err := s.handle(ctx, from, state, msg, buf, res, false)
	if err == nil && res.fromCache && res.Outcome == OutcomeDiscard &&
		(res.Reason == ReasonConflict || res.Reason == ReasonIdentifierMismatch) {
		// The store's cached copy was behind: another node moved the
		// conversation on. Decide again on the stored one.
		err = s.handle(ctx, from, state, msg, buf, res, true)
	}
	if err == nil && res.storeErr != nil {
		// The store did not say this packet ended the conversation: an
		// Accept sent now could be one of several. No answer; the
		// retransmission gets the stored one, or is decided again.
		err = res.storeErr
		res.Clear()
		*res = Result{}
	}
	return err
}

// replyDigest names a response in Conversation.ReplyTo.
func replyDigest(msg []byte) (d [16]byte) {
	sum := sha256.Sum256(msg)
	copy(d[:], sum[:])
	return d
}

func (s *Server) handle(ctx context.Context, from Peer, state, msg, buf []byte, res *Result, fresh bool) error {
	*res = Result{}
	pkt, err := ParsePacket(msg)
	if err != nil {
		res.discard(ReasonMalformed)
		return nil
	}
	if pkt.Code != CodeResponse {
		res.discard(ReasonNotResponse)
		return nil
	}
	msg = msg[:5+len(pkt.Data)] // drop octets beyond Length (RFC 3748 4)
	if len(from.NetworkName) > MaxNetworkName {
		res.discard(ReasonMalformed)
		return nil
	}
	if len(state) == 0 {
		return s.start(ctx, from, pkt, msg, buf, res)
	}
	var c Conversation
	defer c.wipe() // the copy's keys, whatever the outcome
	var id ConversationID
	if len(state) != len(id) {
		s.fail(ctx, nil, pkt.Identifier, ReasonUnknownConversation, buf, res)
		return nil
	}
	copy(id[:], state)
	if fresh {
		err = s.store.GetFresh(ctx, id, &c)
	} else {
		err = s.store.Get(ctx, id, &c)
	}
	if err != nil {
		if errors.Is(err, ErrConversationNotFound) {
			s.fail(ctx, nil, pkt.Identifier, ReasonUnknownConversation, buf, res)
			return nil
		}
		return fmt.Errorf("eap: load conversation: %w", err)
	}
	res.fromCache = c.Cached
	c.networkName = from.NetworkName
	if c.Peer != from.Name {
		// A conversation continues only through the access point that
		// opened it: another client, even one with a valid secret, gets
		// the answer an unknown conversation gets and changes nothing.
		s.fail(ctx, nil, pkt.Identifier, ReasonPeerMismatch, buf, res)
		return nil
	}
	digest := replyDigest(msg)
	if len(c.Reply) > 0 && digest == c.ReplyTo {
		s.replay(&c, buf, res)
		return nil
	}
	if c.State == StateDone {
		s.fail(ctx, nil, pkt.Identifier, ReasonUnknownConversation, buf, res)
		return nil
	}
	c.ReplyTo = digest
	if pkt.Identifier != c.LastID {
		// RFC 3748 4.1: a response that does not match the outstanding
		// request is silently discarded.
		res.discard(ReasonIdentifierMismatch)
		return nil
	}
	switch pkt.Type {
	case TypeNak:
		return s.handleNak(ctx, &c, pkt, buf, res)
	case c.Method:
	default:
		s.fail(ctx, &c, pkt.Identifier, ReasonUnexpected, buf, res)
		return nil
	}
	m, err := ParseAKA(msg)
	if err != nil {
		return s.reject(ctx, &c, ReasonMalformed, buf, res)
	}
	switch m.Subtype {
	case SubtypeClientError:
		// The peer gives up: EAP-Failure at once (RFC 4187 6.3.2).
		s.fail(ctx, &c, pkt.Identifier, ReasonClientError, buf, res)
		return nil
	case SubtypeAuthenticationReject:
		// The peer refused the network (RFC 4187 6.3.2).
		s.fail(ctx, &c, pkt.Identifier, ReasonAuthenticationReject, buf, res)
		return nil
	}
	if !subtypeAllowed(c.State, m.Subtype) {
		return s.reject(ctx, &c, ReasonUnexpected, buf, res)
	}
	switch m.Subtype {
	case SubtypeNotification:
		s.handleNotification(ctx, &c, msg, &m, buf, res)
		return nil
	case SubtypeIdentity:
		return s.handleIdentity(ctx, &c, msg, &m, buf, res)
	case SubtypeSynchronizationFailure:
		return s.handleSyncFailure(ctx, &c, &m, buf, res)
	case SubtypeChallenge:
		return s.handleChallenge(ctx, &c, msg, &m, buf, res)
	case SubtypeReauthentication:
		return s.handleReauth(ctx, &c, msg, &m, buf, res)
	}
	return s.reject(ctx, &c, ReasonUnexpected, buf, res)
}

// replay answers a retransmission with the answer the first copy got, as
// the conversation kept it: the same request, or the same EAP-Success
// (with the same keys) or EAP-Failure. Nothing changes.
func (s *Server) replay(c *Conversation, buf []byte, res *Result) {
	res.Packet = append(buf[:0], c.Reply...)
	res.Method = c.Method
	res.Replayed = true
	switch {
	case c.State != StateDone:
		res.Outcome = OutcomeContinue
		res.Conversation = c.ID
	case Code(c.Reply[0]) == CodeSuccess:
		res.Outcome = OutcomeSuccess
		res.Identity = c.Identity
		res.IMSI = c.IMSI
		res.Resynced = c.Resynced
		res.FastReauth = c.Reauth
		res.MSK, res.EMSK = c.Keys.MSK, c.Keys.EMSK
		res.KeyName = c.KeyName
	default:
		res.Outcome = OutcomeFailure
		res.Reason = c.FailReason
	}
}

// reject answers a response that is malformed or not what was asked for.
// RFC 4187 6.3.2 and 8.1: the server sends AKA-Notification "General
// failure" and EAP-Failure only after the peer acknowledged it; once a
// notification is outstanding, anything ends the conversation at once.
func (s *Server) reject(ctx context.Context, c *Conversation, reason Reason, buf []byte, res *Result) error {
	if c.State == StateNotification || c.State == StateSuccessNotification {
		s.fail(ctx, c, c.LastID, reason, buf, res)
		return nil
	}
	return s.notifyFailure(ctx, c, reason, buf, res)
}

// subtypeAllowed reports whether a response of subtype st may answer the
// request outstanding in state (hostapd's eap_aka_subtype_ok, with a name
// that says what true means).
func subtypeAllowed(state State, st Subtype) bool {
	switch st {
	case SubtypeIdentity:
		return state == StateIdentity
	case SubtypeChallenge, SubtypeSynchronizationFailure, SubtypeAuthenticationReject:
		return state == StateChallenge
	case SubtypeReauthentication:
		return state == StateReauth
	case SubtypeNotification:
		return state == StateNotification || state == StateSuccessNotification
	}
	return false
}

func (r *Result) discard(reason Reason) {
	r.Outcome, r.Reason = OutcomeDiscard, reason
}

// start opens a conversation from an EAP-Response/Identity.
func (s *Server) start(ctx context.Context, from Peer, pkt Packet, msg, buf []byte, res *Result) error {
	if pkt.Type != TypeIdentity {
		res.discard(ReasonUnexpected)
		return nil
	}
	c := Conversation{
		LastID:    pkt.Identifier,
		Identity:  s.keptIdentity(trimNUL(pkt.Data)),
		Peer:      from.Name,
		PeerShare: from.MaxConversations,
		Opened:    s.now(),
		ReplyTo:   replyDigest(msg),
		// The gateway's access network name, for this message only.
		networkName: from.NetworkName,
	}
	defer c.wipe()
	rand.Read(c.ID[:]) // never fails (crypto/rand, Go 1.24+)
	c.Method = s.firstMethod(ParseIdentity(c.Identity))
	if asked, err := s.askIfEncrypted(ctx, &c, trimNUL(pkt.Data), buf, res); asked {
		return err
	}
	return s.proceed(ctx, &c, buf, res)
}

// askIfEncrypted asks for the permanent identity at once when the peer sent
// an encrypted one and there are no keys to open it (keptIdentity kept
// nothing): that is the identity the peer can give.
func (s *Server) askIfEncrypted(ctx context.Context, c *Conversation, sent []byte, buf []byte, res *Result) (bool, error) {
	if c.Identity != nil || !isEncryptedIdentity(sent) {
		return false, nil
	}
	return true, s.sendIdentityRequest(ctx, c, AttrPermanentIDReq, buf, res)
}

// keptIdentity is what a conversation keeps of an identity the peer sent:
// a copy when it is of a usable size, nothing otherwise (the server then
// asks for another). An encrypted identity (up to 1 KiB) is kept only when
// there are keys to decrypt it, and proceed replaces it with what it holds.
func (s *Server) keptIdentity(identity []byte) []byte {
	switch {
	case isEncryptedIdentity(identity):
		if s.identities == nil {
			return nil
		}
	case len(identity) > maxIdentityLen:
		return nil
	}
	return bytes.Clone(identity)
}

// firstMethod picks the method to propose for an identity. The identity's
// prefix is followed when it names an enabled method, with one exception:
// when EAP-AKA' is preferred, a permanent identity or pseudonym with an
// EAP-AKA prefix still gets EAP-AKA' first. A peer that does both then
// runs EAP-AKA' (offered EAP-AKA with AT_BIDDING D=1 it would take us for a
// bidding-down attack and refuse, RFC 9048 4), and a peer that does only
// EAP-AKA answers with a Nak and gets EAP-AKA. A re-authentication
// identity keeps its method: its context was made by it.
func (s *Server) firstMethod(id Identity) Type {
	m := id.Method
	if m == 0 || !slices.Contains(s.methods, m) {
		return s.methods[0]
	}
	if m == TypeAKA && s.prefersAKAPrime() && id.Kind != IdentityReauth {
		return TypeAKAPrime
	}
	return m
}

// prefersAKAPrime: EAP-AKA' is enabled and listed before EAP-AKA. That is
// what AT_BIDDING's D bit says (RFC 9048 4: the server supports EAP-AKA'
// and prefers it over EAP-AKA).
func (s *Server) prefersAKAPrime() bool {
	return s.methods[0] == TypeAKAPrime && slices.Contains(s.methods, TypeAKA)
}

// maxEncryptedIdentityLen bounds a privacy-protected identity: base64 of a
// 4096-bit RSA block with a realm and key identifier fits well within it.
const maxEncryptedIdentityLen = 1024

// isEncryptedIdentity: an identity protected for privacy starts with a NUL
// octet (WBA IMSI privacy protection for Wi-Fi). trimNUL only trims the end.
func isEncryptedIdentity(id []byte) bool {
	return len(id) > 1 && id[0] == 0 && len(id) <= maxEncryptedIdentityLen
}

// proceed acts on the identity in c.Identity (RFC 4187 4.1.1, hostapd's
// eap_aka_determine_identity): a permanent identity or a known pseudonym
// gets a challenge, a known re-authentication identity a fast
// re-authentication, anything else an identity request.
func (s *Server) proceed(ctx context.Context, c *Conversation, buf []byte, res *Result) error {
	if isEncryptedIdentity(c.Identity) {
		// Phones derive the keys from the decrypted identity, not the
		// one they sent: so do we. What does not decrypt is an unknown
		// identity. (Without keys it is not kept: see askIfEncrypted.)
		plain, err := s.identities.Decrypt(c.Identity)
		if err != nil || ParseIdentity(plain).Kind != IdentityPermanent {
			c.Identity = nil // nothing of it is worth keeping
			return s.sendIdentityRequest(ctx, c, AttrPermanentIDReq, buf, res)
		}
		c.Identity = plain
	}
	id := ParseIdentity(c.Identity)
	switch id.Kind {
	case IdentityPermanent:
		c.IMSI = string(id.Value)
		return s.sendChallenge(ctx, c, buf, res, nil)
	case IdentityPseudonym:
		imsi, err := s.lookupPseudonym(ctx, id)
		if err != nil {
			return err
		}
		if imsi == "" {
			// RFC 4187 4.1.1.x: an unknown pseudonym gets
			// AT_PERMANENT_ID_REQ.
			return s.sendIdentityRequest(ctx, c, AttrPermanentIDReq, buf, res)
		}
		c.IMSI = imsi
		return s.sendChallenge(ctx, c, buf, res, nil)
	case IdentityReauth:
		if s.reauth.Enabled && id.Method == c.Method {
			var rec ReauthRecord
			err := s.store.TakeReauth(ctx, string(id.Value), &rec)
			defer rec.Clear()
			switch {
			case err == nil && s.reauthAllowed(&rec, c.Method):
				return s.sendReauth(ctx, c, &rec, buf, res)
			case err != nil && !errors.Is(err, ErrRecordNotFound):
				return fmt.Errorf("eap: load re-authentication context: %w", err)
			}
		}
		// Unknown, used up or expired: ask for a full authentication
		// identity (pseudonym or permanent), as hostapd does. Its
		// method is free again when nothing was sent yet: propose
		// EAP-AKA' as for any EAP-AKA identity, so that a peer that
		// does both is not offered EAP-AKA with AT_BIDDING D=1.
		if c.Requests == 0 && !c.Naked && c.Method == TypeAKA && s.prefersAKAPrime() {
			c.Method = TypeAKAPrime
		}
		return s.sendIdentityRequest(ctx, c, AttrFullauthIDReq, buf, res)
	}
	return s.sendIdentityRequest(ctx, c, s.firstIDRequest(), buf, res)
}

// firstIDRequest is the weakest identity request worth making for an
// identity we cannot use (RFC 4187 4.1.1.x): any identity when we can do
// fast re-authentication, a full authentication identity when we know
// pseudonyms, the permanent identity otherwise.
func (s *Server) firstIDRequest() AttrType {
	switch {
	case s.reauth.Enabled:
		return AttrAnyIDReq
	case s.pseudonyms.Enabled:
		return AttrFullauthIDReq
	}
	return AttrPermanentIDReq
}

func idRequestRank(t AttrType) int {
	switch t {
	case AttrAnyIDReq:
		return 1
	case AttrFullauthIDReq:
		return 2
	case AttrPermanentIDReq:
		return 3
	}
	return 0
}

var idRequestByRank = [4]AttrType{1: AttrAnyIDReq, 2: AttrFullauthIDReq, 3: AttrPermanentIDReq}

func (s *Server) lookupPseudonym(ctx context.Context, id Identity) (string, error) {
	if !s.pseudonyms.Enabled {
		return "", nil
	}
	if s.pseudonyms.Sealed != nil {
		imsi, err := s.pseudonyms.Sealed.Open(pseudonymPrefix(id.Method), id.Value, s.now())
		if err != nil {
			return "", nil
		}
		return imsi, nil
	}
	rec, err := s.store.GetPseudonym(ctx, string(id.Value))
	if errors.Is(err, ErrRecordNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("eap: look up pseudonym: %w", err)
	}
	return rec.IMSI, nil
}

// reauthAllowed enforces the configured limits: past them a full
// authentication is forced.
func (s *Server) reauthAllowed(rec *ReauthRecord, method Type) bool {
	return rec.Method == method && rec.Counter < s.reauth.MaxCount &&
		s.now().Before(rec.FullAuthAt.Add(s.reauth.MaxAge))
}

// sendIdentityRequest asks for an identity with AKA-Identity. Each round
// asks for more than the one before (any, then full authentication, then
// permanent identity: at most three rounds, RFC 4187 4.1.1.x); a peer that
// has given nothing usable by then fails.
func (s *Server) sendIdentityRequest(ctx context.Context, c *Conversation, want AttrType, buf []byte, res *Result) error {
	rank := max(idRequestRank(want), idRequestRank(c.LastIDReq)+1)
	if rank > 3 {
		s.fail(ctx, c, c.LastID, ReasonNoIdentity, buf, res)
		return nil
	}
	req := idRequestByRank[rank]
	b := NewBuilder(buf, CodeRequest, c.LastID+1, c.Method, SubtypeIdentity)
	b.AddFlag(req)
	out, _, err := b.Finish()
	if err != nil {
		return fmt.Errorf("eap: build identity request: %w", err)
	}
	if err := c.hashIDMessage(out); err != nil {
		return err
	}
	// The peer's AT_IDENTITY replaces the identity we could not use.
	c.Identity = nil
	c.IdentityRounds++
	c.LastIDReq = req
	if err := s.send(ctx, c, StateIdentity, out, res); err != nil {
		return err
	}
	res.IdentityRound = res.Outcome == OutcomeContinue
	return nil
}

func (s *Server) handleIdentity(ctx context.Context, c *Conversation, msg []byte, m *AKAMessage, buf []byte, res *Result) error {
	if !m.Attrs.Has(AttrIdentity) {
		return s.notifyFailure(ctx, c, ReasonNoIdentity, buf, res)
	}
	if err := c.hashIDMessage(msg); err != nil {
		return err
	}
	// Unusable (too long, or encrypted with no keys): the next round asks
	// for more.
	sent := trimNUL(m.Attrs.Identity)
	c.Identity = s.keptIdentity(sent)
	if asked, err := s.askIfEncrypted(ctx, c, sent, buf, res); asked {
		return err
	}
	return s.proceed(ctx, c, buf, res)
}

// handleNak switches method when the peer refuses the first request of the
// one we chose (RFC 3748 5.3.1). It happens at most once.
func (s *Server) handleNak(ctx context.Context, c *Conversation, pkt Packet, buf []byte, res *Result) error {
	if c.Naked || c.Requests != 1 {
		s.fail(ctx, c, pkt.Identifier, ReasonUnexpected, buf, res)
		return nil
	}
	next := Type(0)
	for _, m := range s.methods {
		if m != c.Method && bytes.IndexByte(pkt.Data, byte(m)) >= 0 {
			next = m
			break
		}
	}
	if next == 0 {
		s.fail(ctx, c, pkt.Identifier, ReasonNoCommonMethod, buf, res)
		return nil
	}
	// A new method is a new run: its AT_CHECKCODE covers only its own
	// identity messages.
	c.Method, c.Naked = next, true
	c.Requests, c.IdentityRounds, c.IDHash, c.LastIDReq = 0, 0, nil, 0
	return s.proceed(ctx, c, buf, res)
}

func pseudonymPrefix(m Type) byte {
	if m == TypeAKAPrime {
		return '7'
	}
	return '2'
}

func reauthPrefix(m Type) byte {
	if m == TypeAKAPrime {
		return '8'
	}
	return '4'
}

// sendChallenge fetches a vector, derives the keys and sends AKA-Challenge,
// with the next pseudonym and re-authentication identity encrypted in it.
// With auts, the vector comes from the resynchronisation of the USIM's SQN
// (TS 33.102 6.3.5) with the AUTS it sent for c.RAND.
func (s *Server) sendChallenge(ctx context.Context, c *Conversation, buf []byte, res *Result, auts *[aka.AUTSLen]byte) error {
	var nn string
	if c.Method == TypeAKAPrime {
		nn = s.networkName
		if c.networkName != "" {
			nn = c.networkName
		}
	}
	var (
		v   aka.Vector
		err error
	)
	if auts != nil {
		v, err = s.vectors.Resync(ctx, c.IMSI, nn, &c.RAND, auts)
	} else {
		v, err = s.vectors.Vector(ctx, c.IMSI, nn)
	}
	defer v.Clear()
	if err != nil {
		if auts != nil && (errors.Is(err, aka.ErrAUTSInvalid) || errors.Is(err, aka.ErrUnknownSubscriber)) {
			s.fail(ctx, c, c.LastID, ReasonSyncFailure, buf, res)
			return nil
		}
		if errors.Is(err, aka.ErrUnknownSubscriber) {
			s.fail(ctx, c, c.LastID, ReasonUnknownSubscriber, buf, res)
			return nil
		}
		if errors.Is(err, aka.ErrNotAuthorized) {
			s.fail(ctx, c, c.LastID, ReasonNotAuthorized, buf, res)
			return nil
		}
		if errors.Is(err, aka.ErrVectorRate) {
			// Too many vectors for this subscriber just now: no answer,
			// the access point retries; its SQN is not run up.
			res.discard(ReasonVectorRate)
			return nil
		}
		return fmt.Errorf("eap: get vector: %w", err)
	}
	if v.XRESLen < 4 || v.XRESLen > aka.MaxRES {
		return errors.New("eap: vector source returned a bad XRES length")
	}
	switch {
	case c.Method == TypeAKAPrime:
		if !v.Prime {
			if err := v.ToPrime([]byte(nn)); err != nil {
				return fmt.Errorf("eap: derive CK'/IK': %w", err)
			}
		}
		aka.DeriveAKAPrime(c.Identity, &v.IK, &v.CK, &c.Keys)
	case v.Prime:
		return errors.New("eap: vector source returned CK'/IK' for EAP-AKA")
	default:
		aka.DeriveAKA(c.Identity, &v.IK, &v.CK, &c.Keys)
	}
	c.RAND, c.XRES, c.XRESLen = v.RAND, v.XRES, v.XRESLen
	c.Reauth, c.Counter, c.FullAuthAt = false, 0, s.now()

	b := NewBuilder(buf, CodeRequest, c.LastID+1, c.Method, SubtypeChallenge)
	b.AddRAND(&v.RAND)
	b.AddAUTN(&v.AUTN)
	if c.Method == TypeAKAPrime {
		b.AddIdentityLike(AttrKDFInput, []byte(nn))
		b.AddUint16(AttrKDF, kdfAKAPrime)
	} else if s.prefersAKAPrime() {
		// RFC 9048 4: tell the peer we support and prefer EAP-AKA', so
		// that a peer that does too detects a bidding-down to EAP-AKA.
		b.AddUint16(AttrBidding, biddingSupportsAKAPrime)
	}
	if s.resultInd {
		b.AddFlag(AttrResultInd)
	}
	var innerBuf [2 * (4 + maxIdentityLen)]byte
	inner := NewInnerBuilder(innerBuf[:0])
	if s.nextIdentities(c, &inner, true) {
		var iv [16]byte
		rand.Read(iv[:])
		b.AddEncrypted(&c.Keys.KEncr, &iv, &inner)
	}
	var cc [sha256.Size]byte
	b.AddCheckcode(c.checkcode(&cc))
	b.AddMAC()
	out, macOff, err := b.Finish()
	if err != nil {
		return fmt.Errorf("eap: build challenge: %w", err)
	}
	SetMAC(c.Method, c.Keys.KAutKey(), out, macOff, nil)
	return s.send(ctx, c, StateChallenge, out, res)
}

// nextIdentities picks the next pseudonym and re-authentication identity
// (RFC 4187 4.1.1.7, 5.1) and adds them to inner; false when there are none.
// The re-authentication identity carries the realm of the identity in use,
// so that it routes like it (the peer uses it as it is); the pseudonym does
// not, since the peer appends its realm.
func (s *Server) nextIdentities(c *Conversation, inner *InnerBuilder, pseudonym bool) bool {
	var name [1 + maxIdentityLen]byte
	added := false
	c.NextPseudonym = ""
	if pseudonym && s.pseudonyms.Enabled {
		if s.pseudonyms.Sealed != nil {
			c.NextPseudonym = s.pseudonyms.Sealed.Seal(pseudonymPrefix(c.Method), c.IMSI, s.now().Add(s.pseudonyms.Lifetime))
		} else {
			c.NextPseudonym = randomUsername()
		}
		n := append(append(name[:0], pseudonymPrefix(c.Method)), c.NextPseudonym...)
		inner.AddIdentityLike(AttrNextPseudonym, n)
		added = true
	}
	if s.reauth.Enabled && c.Counter < s.reauth.MaxCount &&
		s.now().Before(c.FullAuthAt.Add(s.reauth.MaxAge)) {
		c.NextReauthID = randomUsername()
		n := append(append(name[:0], reauthPrefix(c.Method)), c.NextReauthID...)
		if realm := ParseIdentity(c.Identity).Realm; len(realm) > 0 && len(n)+1+len(realm) <= maxIdentityLen {
			n = append(append(n, '@'), realm...)
		}
		inner.AddIdentityLike(AttrNextReauthID, n)
		added = true
	} else {
		c.NextReauthID = ""
	}
	return added
}

// checkcodeHash is the hash of AT_CHECKCODE: SHA-1 for EAP-AKA (RFC 4187
// 10.13), SHA-256 for EAP-AKA' (RFC 9048 3.4).
func (c *Conversation) checkcodeHash() (hash.Hash, error) {
	h := sha1.New()
	if c.Method == TypeAKAPrime {
		h = sha256.New()
	}
	if len(c.IDHash) > 0 {
		if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(c.IDHash); err != nil {
			return nil, fmt.Errorf("eap: checkcode state: %w", err)
		}
	}
	return h, nil
}

// hashIDMessage adds an AKA-Identity message to the checkcode hash. The
// conversation keeps the hash state, not the messages, so what it holds
// does not grow with what the peer sends. The state is a new slice: copies
// of a conversation share their slices.
func (c *Conversation) hashIDMessage(msg []byte) error {
	h, err := c.checkcodeHash()
	if err != nil {
		return err
	}
	h.Write(msg)
	st, err := h.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		return fmt.Errorf("eap: checkcode state: %w", err)
	}
	c.IDHash = st
	return nil
}

// checkcode is AT_CHECKCODE's value: the hash over the AKA-Identity
// messages of this run, or empty when there were none.
func (c *Conversation) checkcode(out *[sha256.Size]byte) []byte {
	if len(c.IDHash) == 0 {
		return out[:0]
	}
	h, err := c.checkcodeHash()
	if err != nil {
		// Our own state does not unmarshal: a checkcode that matches
		// nothing fails the run rather than skipping the check.
		clear(out[:])
		return out[:1]
	}
	// Sum into its own slice, not out: out handed to an interface method
	// would escape, and cost every challenge an allocation, identity
	// round or not.
	return out[:copy(out[:], h.Sum(nil))]
}

// checkcodeOK: the peer's AT_CHECKCODE must match ours, and must be there
// when ours is not empty.
func (c *Conversation) checkcodeOK(a *Attrs) bool {
	var cc [sha256.Size]byte
	want := c.checkcode(&cc)
	if !a.Has(AttrCheckcode) {
		return len(want) == 0
	}
	return len(a.Checkcode) == len(want) && subtle.ConstantTimeCompare(a.Checkcode, want) == 1
}

func (s *Server) handleSyncFailure(ctx context.Context, c *Conversation, m *AKAMessage, buf []byte, res *Result) error {
	// One resynchronisation per conversation: a USIM that still refuses
	// after it is broken or an attacker is replaying.
	if c.Resynced || !m.Attrs.Has(AttrAUTS) {
		s.fail(ctx, c, m.Packet.Identifier, ReasonSyncFailure, buf, res)
		return nil
	}
	var auts [aka.AUTSLen]byte
	copy(auts[:], m.Attrs.AUTS)
	c.Resynced = true
	return s.sendChallenge(ctx, c, buf, res, &auts)
}

func (s *Server) handleChallenge(ctx context.Context, c *Conversation, msg []byte, m *AKAMessage, buf []byte, res *Result) error {
	a := &m.Attrs
	if a.Has(AttrKDF) {
		// RFC 9048 3.2: a peer that accepts our first (and only) KDF sends
		// no AT_KDF; one that proposes another picks from a list that
		// holds only KDF 1, so negotiation cannot succeed.
		s.fail(ctx, c, m.Packet.Identifier, ReasonKDFNegotiation, buf, res)
		return nil
	}
	if !a.Has(AttrMAC) || !VerifyMAC(c.Method, c.Keys.KAutKey(), msg, a.MACOffset, nil) {
		return s.notifyFailure(ctx, c, ReasonMACMismatch, buf, res)
	}
	// The checkcode is checked only now that AT_MAC has shown the message
	// is the peer's.
	if !c.checkcodeOK(a) {
		return s.notifyFailure(ctx, c, ReasonCheckcodeMismatch, buf, res)
	}
	if !a.Has(AttrRES) || len(a.RES) != int(c.XRESLen) ||
		subtle.ConstantTimeCompare(a.RES, c.XRES[:c.XRESLen]) != 1 {
		return s.notifyFailure(ctx, c, ReasonRESMismatch, buf, res)
	}
	return s.authenticated(ctx, c, a.Has(AttrResultInd), m.Packet.Identifier, buf, res)
}

// sendReauth starts a fast re-authentication from rec (RFC 4187 5.4, RFC
// 9048 3.3): new MSK/EMSK from the stored MK or K_re, AT_COUNTER and
// AT_NONCE_S (and the next re-authentication identity, while the limits
// allow) encrypted under the stored K_encr, AT_MAC under the stored K_aut.
func (s *Server) sendReauth(ctx context.Context, c *Conversation, rec *ReauthRecord, buf []byte, res *Result) error {
	c.IMSI = rec.IMSI
	c.Reauth = true
	c.Counter = rec.Counter + 1
	c.FullAuthAt = rec.FullAuthAt
	c.Keys.KEncr, c.Keys.KAut, c.Keys.KAutLen, c.Keys.MK, c.Keys.KRe = rec.KEncr, rec.KAut, rec.KAutLen, rec.MK, rec.KRe
	rand.Read(c.NonceS[:])
	// The identity in the derivation is the re-authentication identity the
	// peer sent (RFC 4187 7).
	if c.Method == TypeAKAPrime {
		c.Keys.MSK, c.Keys.EMSK = aka.DeriveReauthAKAPrime(c.Identity, c.Counter, &c.NonceS, &c.Keys.KRe)
	} else {
		c.Keys.MSK, c.Keys.EMSK = aka.DeriveReauthAKA(c.Identity, c.Counter, &c.NonceS, &c.Keys.MK)
	}
	var innerBuf [16 + 4 + 4 + maxIdentityLen]byte
	inner := NewInnerBuilder(innerBuf[:0])
	inner.AddUint16(AttrCounter, c.Counter)
	inner.AddNonceS(&c.NonceS)
	s.nextIdentities(c, &inner, false) // pseudonyms come with full authentications only
	var iv [16]byte
	rand.Read(iv[:])
	b := NewBuilder(buf, CodeRequest, c.LastID+1, c.Method, SubtypeReauthentication)
	b.AddEncrypted(&c.Keys.KEncr, &iv, &inner)
	if s.resultInd {
		b.AddFlag(AttrResultInd)
	}
	var cc [sha256.Size]byte
	b.AddCheckcode(c.checkcode(&cc))
	b.AddMAC()
	out, macOff, err := b.Finish()
	if err != nil {
		return fmt.Errorf("eap: build re-authentication: %w", err)
	}
	SetMAC(c.Method, c.Keys.KAutKey(), out, macOff, nil)
	return s.send(ctx, c, StateReauth, out, res)
}

func (s *Server) handleReauth(ctx context.Context, c *Conversation, msg []byte, m *AKAMessage, buf []byte, res *Result) error {
	a := &m.Attrs
	// The peer's MAC covers its message and our NONCE_S (RFC 4187 10.15).
	if !a.Has(AttrMAC) || !VerifyMAC(c.Method, c.Keys.KAutKey(), msg, a.MACOffset, c.NonceS[:]) {
		return s.notifyFailure(ctx, c, ReasonMACMismatch, buf, res)
	}
	if !c.checkcodeOK(a) {
		return s.notifyFailure(ctx, c, ReasonCheckcodeMismatch, buf, res)
	}
	var scratch [MaxEncrDataLen]byte
	inner, err := DecryptAttrs(&c.Keys.KEncr, a.IV, a.EncrData, scratch[:])
	if err != nil || !inner.Has(AttrCounter) || inner.Counter != c.Counter {
		return s.notifyFailure(ctx, c, ReasonMalformed, buf, res)
	}
	if inner.Has(AttrCounterTooSmall) {
		// The peer has seen this counter: run a full authentication
		// now, with the subscriber we know and the re-authentication
		// identity in the key derivation, as the peer expects (hostapd
		// eap_aka_fullauth).
		c.Reauth = false
		c.NextReauthID = ""
		return s.sendChallenge(ctx, c, buf, res, nil)
	}
	return s.authenticated(ctx, c, a.Has(AttrResultInd), m.Packet.Identifier, buf, res)
}

// authenticated is reached once the peer has proven itself. With protected
// result indications asked for on both sides it sends AKA-Notification
// "Success" first (RFC 4187 6.2); otherwise EAP-Success. From here on a
// backend fault is an error (no answer, the access point retries), never
// a rejection of a peer that proved itself.
func (s *Server) authenticated(ctx context.Context, c *Conversation, peerResultInd bool, id uint8, buf []byte, res *Result) error {
	c.KeyName = c.keyName()
	if s.registrar != nil {
		if err := s.registrar.Register(ctx, c.IMSI); err != nil {
			if errors.Is(err, aka.ErrNotAuthorized) || errors.Is(err, aka.ErrUnknownSubscriber) {
				// Proven but not allowed (barred): EAP-Failure, which
				// a peer accepts at any point (RFC 3748 4.2).
				s.fail(ctx, c, id, ReasonNotAuthorized, buf, res)
				return nil
			}
			return fmt.Errorf("eap: register: %w", err)
		}
	}
	if !s.resultInd || !peerResultInd {
		s.succeed(ctx, c, id, buf, res)
		return nil
	}
	b := NewBuilder(buf, CodeRequest, c.LastID+1, c.Method, SubtypeNotification)
	b.AddUint16(AttrNotification, notificationSuccess)
	if c.Reauth {
		// After a fast re-authentication the notification carries the
		// counter, encrypted (RFC 4187 10.19).
		var innerBuf [8]byte
		inner := NewInnerBuilder(innerBuf[:0])
		inner.AddUint16(AttrCounter, c.Counter)
		var iv [16]byte
		rand.Read(iv[:])
		b.AddEncrypted(&c.Keys.KEncr, &iv, &inner)
	}
	b.AddMAC()
	out, macOff, err := b.Finish()
	if err != nil {
		return fmt.Errorf("eap: build success notification: %w", err)
	}
	SetMAC(c.Method, c.Keys.KAutKey(), out, macOff, nil)
	return s.send(ctx, c, StateSuccessNotification, out, res)
}

// notificationSuccess is "Success": S bit set, P bit clear, so it needs
// AT_MAC (RFC 4187 10.19).
const notificationSuccess = 32768

func (s *Server) handleNotification(ctx context.Context, c *Conversation, msg []byte, m *AKAMessage, buf []byte, res *Result) {
	if c.State == StateNotification {
		s.fail(ctx, c, m.Packet.Identifier, c.FailReason, buf, res)
		return
	}
	// The acknowledgement of a success notification is MAC-protected
	// like the notification was.
	a := &m.Attrs
	if !a.Has(AttrMAC) || !VerifyMAC(c.Method, c.Keys.KAutKey(), msg, a.MACOffset, nil) {
		s.fail(ctx, c, m.Packet.Identifier, ReasonMACMismatch, buf, res)
		return
	}
	s.succeed(ctx, c, m.Packet.Identifier, buf, res)
}

// succeed ends the conversation with EAP-Success and stores the identities
// it handed out. A failure to store them costs the peer a fuller
// authentication next time, not this one.
func (s *Server) succeed(ctx context.Context, c *Conversation, id uint8, buf []byte, res *Result) {
	now := s.now()
	var h Handouts
	handedOut := 0
	if c.NextPseudonym != "" && s.pseudonyms.Sealed == nil {
		h.Pseudonym = c.NextPseudonym
		h.PseudonymRecord = PseudonymRecord{IMSI: c.IMSI, Expires: now.Add(s.pseudonyms.Lifetime)}
		handedOut++
	}
	var rec ReauthRecord
	defer rec.Clear()
	if c.NextReauthID != "" {
		rec = ReauthRecord{
			IMSI:       c.IMSI,
			Method:     c.Method,
			Counter:    c.Counter,
			FullAuthAt: c.FullAuthAt,
			Expires:    now.Add(s.reauth.Lifetime),
		}
		rec.fromKeys(&c.Keys)
		h.ReauthID, h.Reauth = c.NextReauthID, &rec
		handedOut++
	}
	out := AppendSuccess(buf[:0], id)
	// What a retransmission needs to be answered alike: the answer and
	// the keys it delivers, nothing the conversation used on the way.
	c.Keys = aka.Keys{MSK: c.Keys.MSK, EMSK: c.Keys.EMSK}
	err := s.finish(ctx, c, out, &h)
	switch {
	case errors.Is(err, ErrConversationConflict) || errors.Is(err, ErrConversationNotFound):
		// Another packet of this conversation got there first: one
		// Accept per conversation.
		res.discard(ReasonConflict)
		c.wipe()
		return
	case errors.Is(err, ErrRecordsNotStored):
		res.NotStored = handedOut
	case err != nil:
		res.storeErr = fmt.Errorf("eap: finish conversation: %w", err)
		c.wipe()
		return
	}
	res.Outcome = OutcomeSuccess
	res.Packet = out
	res.Method = c.Method
	res.Identity = c.Identity
	res.IMSI = c.IMSI
	res.Resynced = c.Resynced
	res.FastReauth = c.Reauth
	res.MSK, res.EMSK = c.Keys.MSK, c.Keys.EMSK
	res.KeyName = c.KeyName
	c.wipe()
}

// finishedLinger is how long a finished conversation stays readable for
// retransmissions (in a store that keeps them): RADIUS clients retransmit
// within seconds, and give up after a few tries.
const finishedLinger = 15 * time.Second

// finish ends c with out, its last answer: the finished copy (state, answer,
// the digest of the message it answers) goes to the store with h.
func (s *Server) finish(ctx context.Context, c *Conversation, out []byte, h *Handouts) error {
	c.State = StateDone
	c.Reply = out
	c.Expires = s.now().Add(min(finishedLinger, s.timeout))
	clear(c.XRES[:])
	clear(c.RAND[:])
	c.IDHash = nil
	c.NextPseudonym, c.NextReauthID = "", ""
	return s.store.Finish(ctx, c, h)
}

// notifyFailure tells the peer, with AKA-Notification "General failure",
// that its answer was not good, as RFC 4187 6.3.1-6.3.2 ask; the
// EAP-Failure follows its acknowledgement. A store fault is an error: no
// answer, the conversation as it was.
func (s *Server) notifyFailure(ctx context.Context, c *Conversation, reason Reason, buf []byte, res *Result) error {
	b := NewBuilder(buf, CodeRequest, c.LastID+1, c.Method, SubtypeNotification)
	b.AddUint16(AttrNotification, notificationGeneralFailure)
	out, _, err := b.Finish()
	if err != nil {
		return fmt.Errorf("eap: build notification: %w", err)
	}
	c.Keys.Clear() // nothing after this needs them
	c.FailReason = reason
	return s.send(ctx, c, StateNotification, out, res)
}

// send stores c in its new state and returns out as the next request.
func (s *Server) send(ctx context.Context, c *Conversation, st State, out []byte, res *Result) error {
	c.State = st
	c.LastID = out[1]
	c.Reply = out
	if c.Requests < 255 {
		c.Requests++
	}
	c.Expires = s.now().Add(s.timeout)
	if err := s.store.Put(ctx, c); err != nil {
		if errors.Is(err, ErrStoreFull) {
			res.discard(ReasonStoreFull)
			return nil
		}
		if errors.Is(err, ErrPeerFull) {
			res.discard(ReasonPeerFull)
			return nil
		}
		if errors.Is(err, ErrConversationConflict) {
			res.discard(ReasonConflict)
			return nil
		}
		return fmt.Errorf("eap: store conversation: %w", err)
	}
	res.Outcome = OutcomeContinue
	res.Packet = out
	res.Conversation = c.ID
	res.Method = c.Method
	return nil
}

// fail answers with EAP-Failure and ends the conversation (c may be nil).
func (s *Server) fail(ctx context.Context, c *Conversation, id uint8, reason Reason, buf []byte, res *Result) {
	out := AppendFailure(buf[:0], id)
	if c != nil {
		c.Keys.Clear()
		c.FailReason = reason
		// Only the packet that ends the stored conversation may
		// answer; a store that cannot say gets no answer (never an
		// EAP-Failure for a backend fault).
		err := s.finish(ctx, c, out, nil)
		if errors.Is(err, ErrConversationConflict) || errors.Is(err, ErrConversationNotFound) {
			res.discard(ReasonConflict)
			return
		}
		if err != nil {
			res.storeErr = fmt.Errorf("eap: finish conversation: %w", err)
			return
		}
		res.Method = c.Method
		c.wipe()
	}
	res.Outcome = OutcomeFailure
	res.Reason = reason
	res.Packet = out
}

func trimNUL(b []byte) []byte {
	for len(b) > 0 && b[len(b)-1] == 0 {
		b = b[:len(b)-1]
	}
	return b
}
