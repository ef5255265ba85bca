package redisstore

import (
	"encoding/binary"
	"errors"
	"time"

	"github.com/aaa-project/aaa/eap"
)

// The binary forms of what the EAP store keeps: fixed fields first, then
// length-prefixed slices and strings, behind a format octet so that a node
// of a later version can tell an old record. Decoding checks every length
// against what is left: a corrupt value is an error, never a panic.

const (
	convFormat   = 4 // 2: Reply and ReplyTo; 3: Opened; 4: KeyName
	reauthFormat = 1
)

var errCorrupt = errors.New("redisstore: stored value malformed")

type writer struct{ b []byte }

func (w *writer) u8(v uint8)       { w.b = append(w.b, v) }
func (w *writer) u16(v uint16)     { w.b = binary.BigEndian.AppendUint16(w.b, v) }
func (w *writer) u32(v uint32)     { w.b = binary.BigEndian.AppendUint32(w.b, v) }
func (w *writer) i64(v int64)      { w.b = binary.BigEndian.AppendUint64(w.b, uint64(v)) }
func (w *writer) raw(v []byte)     { w.b = append(w.b, v...) }
func (w *writer) bytes(v []byte)   { w.u16(uint16(len(v))); w.raw(v) }
func (w *writer) str(v string)     { w.u16(uint16(len(v))); w.b = append(w.b, v...) }
func (w *writer) bool(v bool)      { w.u8(boolByte(v)) }
func (w *writer) time(v time.Time) { w.i64(unixMilli(v)) }

func boolByte(v bool) uint8 {
	if v {
		return 1
	}
	return 0
}

// unixMilli keeps the zero time zero, so that it comes back IsZero.
func unixMilli(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMilli(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

type reader struct {
	b   []byte
	err error
}

func (r *reader) take(n int) []byte {
	if r.err != nil || n > len(r.b) {
		r.err = errCorrupt
		return make([]byte, n)
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) u8() uint8   { return r.take(1)[0] }
func (r *reader) u16() uint16 { return binary.BigEndian.Uint16(r.take(2)) }
func (r *reader) u32() uint32 { return binary.BigEndian.Uint32(r.take(4)) }
func (r *reader) i64() int64  { return int64(binary.BigEndian.Uint64(r.take(8))) }
func (r *reader) bool() bool {
	v := r.u8()
	if v > 1 {
		r.err = errCorrupt
	}
	return v == 1
}
func (r *reader) time() time.Time { return fromMilli(r.i64()) }
func (r *reader) fill(dst []byte) { copy(dst, r.take(len(dst))) }
func (r *reader) str() string     { return string(r.take(int(r.u16()))) }
func (r *reader) bytes() []byte {
	n := int(r.u16())
	if n == 0 {
		return nil
	}
	return append([]byte(nil), r.take(n)...)
}

// encodeConversation appends c, all but ID and Version (the key and the
// store's own counter hold those).
func encodeConversation(dst []byte, c *eap.Conversation) []byte {
	w := writer{b: dst}
	w.u8(convFormat)
	w.str(c.Peer)
	w.u32(uint32(c.PeerShare))
	w.time(c.Opened)
	w.u8(uint8(c.State))
	w.u8(uint8(c.Method))
	w.u8(c.LastID)
	w.time(c.Expires)
	w.bytes(c.Reply)
	w.raw(c.ReplyTo[:])
	w.bytes(c.Identity)
	w.str(c.IMSI)
	w.u8(c.Requests)
	w.bool(c.Naked)
	w.u8(c.IdentityRounds)
	w.bool(c.Resynced)
	w.u8(uint8(c.FailReason))
	w.u8(uint8(c.LastIDReq))
	w.bool(c.Reauth)
	w.u16(c.Counter)
	w.raw(c.NonceS[:])
	w.time(c.FullAuthAt)
	w.str(c.NextPseudonym)
	w.str(c.NextReauthID)
	w.bytes(c.IDHash)
	w.raw(c.RAND[:])
	w.raw(c.XRES[:])
	w.u8(c.XRESLen)
	k := &c.Keys
	w.raw(k.KEncr[:])
	w.raw(k.KAut[:])
	w.u8(k.KAutLen)
	w.raw(k.MK[:])
	w.raw(k.KRe[:])
	w.raw(k.MSK[:])
	w.raw(k.EMSK[:])
	w.bytes(c.KeyName)
	return w.b
}

// decodeConversation fills c (but ID and Version) from b.
func decodeConversation(b []byte, c *eap.Conversation) error {
	r := reader{b: b}
	format := r.u8()
	if format != convFormat && format != 3 {
		return errCorrupt // 3: a node of the version before, during an upgrade
	}
	c.Peer = r.str()
	c.PeerShare = int(r.u32())
	c.Opened = r.time()
	c.State = eap.State(r.u8())
	c.Method = eap.Type(r.u8())
	c.LastID = r.u8()
	c.Expires = r.time()
	c.Reply = r.bytes()
	r.fill(c.ReplyTo[:])
	c.Identity = r.bytes()
	c.IMSI = r.str()
	c.Requests = r.u8()
	c.Naked = r.bool()
	c.IdentityRounds = r.u8()
	c.Resynced = r.bool()
	c.FailReason = eap.Reason(r.u8())
	c.LastIDReq = eap.AttrType(r.u8())
	c.Reauth = r.bool()
	c.Counter = r.u16()
	r.fill(c.NonceS[:])
	c.FullAuthAt = r.time()
	c.NextPseudonym = r.str()
	c.NextReauthID = r.str()
	c.IDHash = r.bytes()
	r.fill(c.RAND[:])
	r.fill(c.XRES[:])
	c.XRESLen = r.u8()
	k := &c.Keys
	r.fill(k.KEncr[:])
	r.fill(k.KAut[:])
	k.KAutLen = r.u8()
	r.fill(k.MK[:])
	r.fill(k.KRe[:])
	r.fill(k.MSK[:])
	r.fill(k.EMSK[:])
	if format >= 4 {
		c.KeyName = r.bytes()
	}
	if r.err == nil && len(r.b) != 0 {
		r.err = errCorrupt
	}
	return r.err
}

func encodeReauth(dst []byte, rec *eap.ReauthRecord) []byte {
	w := writer{b: dst}
	w.u8(reauthFormat)
	w.str(rec.IMSI)
	w.u8(uint8(rec.Method))
	w.u16(rec.Counter)
	w.time(rec.FullAuthAt)
	w.time(rec.Expires)
	w.raw(rec.KEncr[:])
	w.raw(rec.KAut[:])
	w.u8(rec.KAutLen)
	w.raw(rec.MK[:])
	w.raw(rec.KRe[:])
	return w.b
}

func decodeReauth(b []byte, rec *eap.ReauthRecord) error {
	r := reader{b: b}
	if r.u8() != reauthFormat {
		return errCorrupt
	}
	rec.IMSI = r.str()
	rec.Method = eap.Type(r.u8())
	rec.Counter = r.u16()
	rec.FullAuthAt = r.time()
	rec.Expires = r.time()
	r.fill(rec.KEncr[:])
	r.fill(rec.KAut[:])
	rec.KAutLen = r.u8()
	r.fill(rec.MK[:])
	r.fill(rec.KRe[:])
	if r.err == nil && len(r.b) != 0 {
		r.err = errCorrupt
	}
	return r.err
}
