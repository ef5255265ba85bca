package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"github.com/aaa-project/aaa/hss"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"time"
)

const deregisterUsage = `usage: aaactl --config FILE deregister IMSI

Ends the registration of subscriber IMSI (6 to 15 digits) through the
running aaad, over its admin endpoint (admin.listen of FILE): aaad sends
the Registration-Termination-Request and ends the subscriber's sessions.
Over a unix socket (admin.listen: unix:/path) run it as the user aaad runs
as (the socket is mode 0600); over TCP it sends the token of
admin.token_file. --config may also follow deregister.
`

const (
	// deregisterWait bounds the whole exchange: aaad gives a command 10 s.
	deregisterWait = 20 * time.Second
	// maxAdminAnswer bounds what is read of aaad's answer.
	maxAdminAnswer = 64 << 10
)

// adminAnswer is aaad's answer to a command: {"ok": true, ...} or
// {"ok": false, "error": "..."}; for deregister, what was done.
type adminAnswer struct {
	adminStatus
	Sent       bool   `json:"sent"`
	Peer       string `json:"peer"`
	ResultCode uint32 `json:"result_code"`
	Sessions   int    `json:"sessions"`
}

// deregister runs `aaactl deregister IMSI`: 0 done, 1 failed (aaad
// unreachable or refusing, the subscriber unknown...), 2 a wrong command
// line.
func deregister(ctx context.Context, configPath string, args []string, stdout, stderr io.Writer) int {
	fail := func(code int, format string, a ...any) int {
		fmt.Fprintf(stderr, "aaactl deregister: "+format+"\n", a...)
		return code
	}
	fset := flag.NewFlagSet("deregister", flag.ContinueOnError)
	fset.SetOutput(io.Discard)
	fset.StringVar(&configPath, "config", configPath, "aaad's configuration file (its admin section)")
	var pos []string
	for rest := args; ; {
		if err := fset.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fmt.Fprint(stdout, deregisterUsage)
				return 0
			}
			fmt.Fprint(stderr, deregisterUsage)
			return fail(exitUsage, "%v", maskArgs(err, args))
		}
		if fset.NArg() == 0 {
			break
		}
		pos = append(pos, fset.Arg(0))
		rest = fset.Args()[1:]
	}
	switch {
	case len(pos) == 0:
		fmt.Fprint(stderr, deregisterUsage)
		return fail(exitUsage, "the IMSI is missing")
	case len(pos) > 1:
		return fail(exitUsage, "unexpected argument %s: one IMSI at a time", shownArg(pos[1]))
	case !hss.ValidIMSI(pos[0]):
		return fail(exitUsage, "IMSI: want 6 to 15 digits")
	case configPath == "":
		return fail(exitUsage, "--config FILE is required: aaad's configuration (its admin section: listen and token_file)")
	}
	imsi := pos[0]
	cfg, err := loadCtlConfig(configPath)
	if err != nil {
		return fail(exitFailed, "%v", err)
	}
	res, err := postAdmin(ctx, &cfg.Admin, "/v1/deregister", map[string]string{"imsi": imsi})
	if err != nil {
		return fail(exitFailed, "%v", err)
	}
	fmt.Fprintf(stdout, "deregistered %s: %s\n", imsi, describeDeregister(res))
	return 0
}

// describeDeregister says in words what aaad did.
func describeDeregister(a *adminAnswer) string {
	var parts []string
	switch {
	case a.Sent && a.Peer != "":
		parts = append(parts, "RTR sent to "+printable(a.Peer))
	case a.Sent:
		parts = append(parts, "RTR sent")
	default:
		parts = append(parts, "no RTR sent")
	}
	if a.ResultCode != 0 {
		parts = append(parts, fmt.Sprintf("RTA %d", a.ResultCode))
	}
	switch a.Sessions {
	case 0:
		parts = append(parts, "no session ended")
	case 1:
		parts = append(parts, "1 session ended")
	default:
		parts = append(parts, fmt.Sprintf("%d sessions ended", a.Sessions))
	}
	return strings.Join(parts, ", ")
}

// adminStatus is what every answer of the admin endpoint says of itself.
type adminStatus struct {
	OK    bool   `json:"ok"`
	Error string `json:"error"`
}

// postAdmin sends one command to aaad's admin endpoint (adminCall).
func postAdmin(ctx context.Context, c *ctlAdminConfig, path string, body any) (*adminAnswer, error) {
	var ans adminAnswer
	if err := adminCall(ctx, c, http.MethodPost, path, body, maxAdminAnswer, &ans, &ans.adminStatus); err != nil {
		return nil, err
	}
	return &ans, nil
}

// adminCall sends one request to aaad's admin endpoint: body (if any) as
// JSON, the token of admin.token_file over TCP, never through a proxy,
// within deregisterWait; the answer, at most limit bytes, is decoded into
// out, whose status st is. An answer that is not "ok" is an error
// carrying aaad's reason.
func adminCall(ctx context.Context, c *ctlAdminConfig, method, path string, body any, limit int64, out any, st *adminStatus) error {
	network, addr, err := c.adminEndpoint()
	if err != nil {
		return err
	}
	base := "http://localhost"
	var token string
	if network == "tcp" {
		base = "http://" + addr
		if c.TokenFile != "" {
			if token, err = readAdminToken(c.TokenFile); err != nil {
				return err
			}
		}
	}
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(data)
	}
	ctx, cancel := context.WithTimeout(ctx, deregisterWait)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, base+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	client := &http.Client{
		Transport: &http.Transport{
			Proxy: nil, // never through a proxy: the token goes to aaad only
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return dialer.DialContext(ctx, network, addr)
			},
			DisableKeepAlives: true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Do(req)
	if err != nil {
		return reachError(ctx, network, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return fmt.Errorf("reading aaad's answer: %w", err)
	}
	if int64(len(raw)) > limit {
		return fmt.Errorf("aaad's answer is larger than %d bytes", limit)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		if resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusMethodNotAllowed {
			return fmt.Errorf("aaad answered HTTP %d, not JSON: an aaad without this command, or admin.listen is not aaad's admin endpoint", resp.StatusCode)
		}
		return fmt.Errorf("aaad answered HTTP %d, not JSON (is admin.listen aaad's admin endpoint?)", resp.StatusCode)
	}
	if resp.StatusCode != http.StatusOK || !st.OK {
		msg := printable(st.Error)
		if msg == "" {
			msg = "refused"
		}
		return fmt.Errorf("%s (HTTP %d)", msg, resp.StatusCode)
	}
	return nil
}

// reachError says why aaad could not be reached, without the address
// (the operator's file has it).
func reachError(ctx context.Context, network string, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("no answer from aaad within %v", deregisterWait)
	}
	what := "admin.listen"
	if network == "unix" {
		what = "admin.listen (unix socket)"
	}
	var hint string
	switch {
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, fs.ErrNotExist):
		hint = ": is aaad running, with this configuration?"
	case errors.Is(err, fs.ErrPermission):
		hint = ": the socket is mode 0600: run aaactl as the user aaad runs as"
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		err = oe.Err
	}
	return fmt.Errorf("cannot reach aaad at %s: %v%s", what, err, hint)
}

// readAdminToken reads admin.token_file's token. Errors name the key,
// never the contents.
func readAdminToken(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return "", fmt.Errorf("admin.token_file: cannot read the file: %w", err)
	}
	defer clear(data)
	tok := string(bytes.TrimSpace(data))
	if tok == "" || strings.ContainsAny(tok, " \t\r\n") {
		return "", errors.New("admin.token_file: want one token on one line")
	}
	return tok, nil
}

// printable is s from aaad, fit for one line of a terminal: control
// characters dropped, at most 300 bytes.
func printable(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return -1
		}
		return r
	}, s)
	if len(s) > 300 {
		s = strings.ToValidUTF8(s[:300], "") + "..."
	}
	return s
}
