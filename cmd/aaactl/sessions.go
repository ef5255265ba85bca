package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aaa-project/aaa/hss"
)

const sessionsUsage = `usage: aaactl --config FILE sessions [--imsi IMSI]

Lists the live sessions of subscriber IMSI (6 to 15 digits) on the running
aaad, over its admin endpoint (admin.listen of FILE): one line each, with
the front end, the RADIUS client or Diameter gateway, the NAS address or
the Diameter realm and Session-Id, the Calling-Station-Id and
Acct-Session-Id, when it started and when aaad forgets it. Without --imsi,
every session of the node (at most 10,000). Sessions name subscribers: over TCP it needs the token of
admin.token_file, over a unix socket the user aaad runs as. --config may
also follow sessions.
`

const disconnectUsage = `usage: aaactl --config FILE disconnect IMSI

Ends every live session of subscriber IMSI (6 to 15 digits) through the
running aaad, over its admin endpoint (admin.listen of FILE): aaad takes
them out of its session table and sends each access point a RADIUS
Disconnect-Request, or each gateway a Diameter Abort-Session-Request, and
this prints one line per session with the answer: ACK, NAK, or no answer
and why. It exits 0 when every session was ACKed, 1 otherwise (also when
the subscriber had no session), 2 on a wrong command line. --config may
also follow disconnect.
`

// maxSessionsAnswer bounds what is read of aaad's answer to GET
// /v1/sessions (aaad lists at most 10,000 sessions).
const maxSessionsAnswer = 32 << 20

// sessionJSON is one session in aaad's answers (aaad's SessionInfo, and
// the outcome of DisconnectInfo).
type sessionJSON struct {
	IMSI             string    `json:"imsi"`
	FrontEnd         string    `json:"front_end"`
	Client           string    `json:"client"`
	NAS              string    `json:"nas"`
	Realm            string    `json:"realm"`
	SessionID        string    `json:"session_id"`
	CallingStationID string    `json:"calling_station_id"`
	AcctSessionID    string    `json:"acct_session_id"`
	Started          time.Time `json:"started"`
	Expires          time.Time `json:"expires"`
	// Of disconnect: "ack", "nak" or "no_answer" (with Error).
	Outcome string `json:"outcome"`
	Error   string `json:"error"`
}

// sessionsAnswer is aaad's answer to GET /v1/sessions and POST
// /v1/disconnect.
type sessionsAnswer struct {
	adminStatus
	Sessions  []sessionJSON `json:"sessions"`
	Truncated bool          `json:"truncated"`
}

// sessions runs `aaactl sessions [--imsi IMSI]`: 0 listed (even none), 1
// failed (aaad unreachable or refusing), 2 a wrong command line.
func sessions(ctx context.Context, configPath string, args []string, stdout, stderr io.Writer) int {
	fail := func(code int, format string, a ...any) int {
		fmt.Fprintf(stderr, "aaactl sessions: "+format+"\n", a...)
		return code
	}
	fset := flag.NewFlagSet("sessions", flag.ContinueOnError)
	fset.SetOutput(io.Discard)
	fset.StringVar(&configPath, "config", configPath, "aaad's configuration file (its admin section)")
	imsi := fset.String("imsi", "", "the subscriber whose sessions to list")
	pos, err := parseInterleaved(fset, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, sessionsUsage)
		return 0
	} else if err != nil {
		fmt.Fprint(stderr, sessionsUsage)
		return fail(exitUsage, "%v", err)
	}
	switch {
	case len(pos) > 0:
		return fail(exitUsage, "unexpected argument %s (the IMSI goes with --imsi)", shownArg(pos[0]))
	case *imsi != "" && !hss.ValidIMSI(*imsi):
		return fail(exitUsage, "--imsi: want 6 to 15 digits")
	case configPath == "":
		return fail(exitUsage, "--config FILE is required: aaad's configuration (its admin section: listen and token_file)")
	}
	cfg, err := loadCtlConfig(configPath)
	if err != nil {
		return fail(exitFailed, "%v", err)
	}
	path := "/v1/sessions"
	if *imsi != "" {
		path += "?" + url.Values{"imsi": {*imsi}}.Encode()
	}
	ans, err := callAdmin(ctx, &cfg.Admin, http.MethodGet, path, nil, maxSessionsAnswer)
	if err != nil {
		return fail(exitFailed, "%v", err)
	}
	if len(ans.Sessions) == 0 {
		fmt.Fprintln(stdout, "no sessions")
		return 0
	}
	printSessions(stdout, ans.Sessions)
	if ans.Truncated {
		fmt.Fprintf(stderr, "aaactl sessions: aaad sent only the first %d sessions\n", len(ans.Sessions))
	}
	return 0
}

// printSessions prints one line per session, under a header.
func printSessions(w io.Writer, list []sessionJSON) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "IMSI\tFRONT END\tCLIENT\tNAS / REALM\tSESSION\tCALLING STATION\tSTARTED\tEXPIRES")
	for _, s := range list {
		where := s.NAS
		if where == "" {
			where = s.Realm
		}
		id := s.AcctSessionID
		if id == "" {
			id = s.SessionID
		}
		expires := "never"
		if !s.Expires.IsZero() {
			expires = s.Expires.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", cell(s.IMSI), cell(s.FrontEnd), cell(s.Client),
			cell(where), cell(id), cell(s.CallingStationID), s.Started.UTC().Format(time.RFC3339), expires)
	}
	tw.Flush()
}

// cell is a value from aaad for a table cell: printable, "-" when empty.
func cell(s string) string {
	if s = printable(s); s == "" {
		return "-"
	}
	return s
}

// disconnect runs `aaactl disconnect IMSI`: 0 every session ACKed, 1
// otherwise (a NAK, no answer, no session, aaad unreachable or refusing),
// 2 a wrong command line.
func disconnect(ctx context.Context, configPath string, args []string, stdout, stderr io.Writer) int {
	fail := func(code int, format string, a ...any) int {
		fmt.Fprintf(stderr, "aaactl disconnect: "+format+"\n", a...)
		return code
	}
	fset := flag.NewFlagSet("disconnect", flag.ContinueOnError)
	fset.SetOutput(io.Discard)
	fset.StringVar(&configPath, "config", configPath, "aaad's configuration file (its admin section)")
	pos, err := parseInterleaved(fset, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, disconnectUsage)
		return 0
	} else if err != nil {
		fmt.Fprint(stderr, disconnectUsage)
		return fail(exitUsage, "%v", err)
	}
	switch {
	case len(pos) == 0:
		fmt.Fprint(stderr, disconnectUsage)
		return fail(exitUsage, "the IMSI is missing")
	case len(pos) > 1:
		return fail(exitUsage, "unexpected argument %s: one IMSI at a time", shownArg(pos[1]))
	case !hss.ValidIMSI(pos[0]):
		return fail(exitUsage, "IMSI: want 6 to 15 digits")
	case configPath == "":
		return fail(exitUsage, "--config FILE is required: aaad's configuration (its admin section: listen and token_file)")
	}
	cfg, err := loadCtlConfig(configPath)
	if err != nil {
		return fail(exitFailed, "%v", err)
	}
	ans, err := callAdmin(ctx, &cfg.Admin, http.MethodPost, "/v1/disconnect", map[string]string{"imsi": pos[0]}, maxAdminAnswer)
	if err != nil {
		return fail(exitFailed, "%v", err)
	}
	acked := 0
	for _, s := range ans.Sessions {
		fmt.Fprintf(stdout, "%s: %s\n", describeSession(&s), describeOutcome(&s))
		if s.Outcome == "ack" {
			acked++
		}
	}
	switch {
	case len(ans.Sessions) == 0:
		return fail(exitFailed, "aaad ended no session")
	case acked < len(ans.Sessions):
		return fail(exitFailed, "%d of %d sessions not acknowledged (aaad has forgotten them all)", len(ans.Sessions)-acked, len(ans.Sessions))
	}
	return 0
}

// describeSession names a session on one line: front end, client, and
// the NAS address or the Diameter realm and Session-Id, and the
// Calling-Station-Id that tells apart the devices behind one NAS.
func describeSession(s *sessionJSON) string {
	parts := []string{cell(s.FrontEnd), cell(s.Client)}
	if s.NAS != "" {
		parts = append(parts, printable(s.NAS))
	}
	var more []string
	if s.Realm != "" {
		more = append(more, "realm "+printable(s.Realm))
	}
	if s.SessionID != "" {
		more = append(more, "Session-Id "+printable(s.SessionID))
	}
	if s.CallingStationID != "" {
		more = append(more, "Calling-Station-Id "+printable(s.CallingStationID))
	}
	str := strings.Join(parts, " ")
	if len(more) > 0 {
		str += " (" + strings.Join(more, ", ") + ")"
	}
	return str
}

// describeOutcome says what the access point answered.
func describeOutcome(s *sessionJSON) string {
	switch s.Outcome {
	case "ack":
		return "ACK"
	case "nak":
		return "NAK"
	case "no_answer":
		if s.Error == "" {
			return "no answer"
		}
		return "no answer: " + printable(s.Error)
	}
	return "unknown outcome " + fmt.Sprintf("%q", printable(s.Outcome))
}

// parseInterleaved parses args with fset, flags and positional arguments
// in any order, as deregister does, and returns the positional ones. Its
// error is flag.ErrHelp, or the flag package's with keys masked.
func parseInterleaved(fset *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for rest := args; ; {
		if err := fset.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, maskArgs(err, args)
		}
		if fset.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fset.Arg(0))
		rest = fset.Args()[1:]
	}
}

func callAdmin(ctx context.Context, c *ctlAdminConfig, method, path string, body any, limit int64) (*sessionsAnswer, error) {
	var ans sessionsAnswer
	if err := adminCall(ctx, c, method, path, body, limit, &ans, &ans.adminStatus); err != nil {
		return nil, err
	}
	return &ans, nil
}
