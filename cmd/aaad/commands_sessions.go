package main

import (
	"context"
	"time"

	"go.uber.org/zap"

	"github.com/aaa-project/aaa/session"
)

// The session commands of the admin endpoint (sessionCommands), over the
// app's session table.

// Sessions returns the live sessions of imsi, newest first, or with imsi
// "" every session (at most maxListedSessions+1, so that the caller can
// say the list was cut).
func (c swxCommands) Sessions(imsi string) ([]SessionInfo, error) {
	var ss []session.Session
	if imsi == "" {
		ss, _ = c.a.sessions.All(maxListedSessions + 1)
	} else {
		ss = c.a.sessions.Lookup(imsi)
	}
	out := make([]SessionInfo, len(ss))
	for i := range ss {
		out[i] = sessionInfo(&ss[i])
	}
	return out, nil
}

// Disconnect ends every session of imsi through the session table's
// terminators (End: out of the table, then a Disconnect-Request or an
// ASR each, all at once), and logs each as the deregister command does.
func (c swxCommands) Disconnect(ctx context.Context, imsi string) ([]DisconnectInfo, error) {
	results := c.a.sessions.End(ctx, imsi)
	if len(results) == 0 {
		return nil, errNoSession
	}
	out := make([]DisconnectInfo, len(results))
	for i, r := range results {
		c.a.log.Info("session ended", zap.Stringer("session", r.Session), zap.Bool("acked", r.Acked),
			zap.NamedError("reason", r.Err))
		out[i] = disconnectInfo(&r)
	}
	return out, nil
}

// sessionInfo is s as the admin endpoint shows it: no User-Name.
func sessionInfo(s *session.Session) SessionInfo {
	si := SessionInfo{
		IMSI:             s.IMSI,
		FrontEnd:         s.FrontEnd,
		Client:           s.Client,
		Realm:            s.Realm,
		SessionID:        s.SessionID,
		CallingStationID: s.CallingStationID,
		AcctSessionID:    s.AcctSessionID,
		Started:          s.Started.UTC().Truncate(time.Second),
	}
	if s.NAS.IsValid() {
		si.NAS = s.NAS.String()
	}
	if !s.Expires.IsZero() {
		si.Expires = s.Expires.UTC().Truncate(time.Second)
	}
	return si
}

// disconnectInfo is what ending one session came to, per the contract of
// session.Terminator: an error is no (trustworthy) answer; acked false
// without one, a NAK.
func disconnectInfo(r *session.EndResult) DisconnectInfo {
	d := DisconnectInfo{SessionInfo: sessionInfo(&r.Session)}
	switch {
	case r.Err != nil:
		d.Outcome, d.Error = outcomeNoAnswer, r.Err.Error()
	case r.Acked:
		d.Outcome = outcomeACK
	default:
		d.Outcome = outcomeNAK
	}
	return d
}
