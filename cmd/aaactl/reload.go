package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
)

const reloadUsage = `usage: aaactl --config FILE reload

Makes the running aaad read its configuration again, as SIGHUP does, over
its admin endpoint (admin.listen of FILE), and prints what was reloaded:
the RADIUS clients and secrets, log.level, the subscribers of
hss.subscribers (memory store), the identity-privacy keys, and what changed
but needs a restart. A configuration that does not validate is refused
whole: this prints why and exits 1, and aaad keeps serving with the running
one. --config may also follow reload.
`

// reloadAnswer is aaad's answer to POST /v1/reload.
type reloadAnswer struct {
	adminStatus
	Reloaded    []string `json:"reloaded"`
	Clients     int      `json:"clients"`
	LogLevel    string   `json:"log_level"`
	Subscribers *struct {
		Count   int `json:"count"`
		Added   int `json:"added"`
		Removed int `json:"removed"`
	} `json:"subscribers"`
	IdentityPrivacyKeys *int     `json:"identity_privacy_keys"`
	Restart             []string `json:"restart"`
}

// reload runs `aaactl reload`: 0 reloaded, 1 refused or failed, 2 a wrong
// command line.
func reload(ctx context.Context, configPath string, args []string, stdout, stderr io.Writer) int {
	fail := func(code int, format string, a ...any) int {
		fmt.Fprintf(stderr, "aaactl reload: "+format+"\n", a...)
		return code
	}
	fset := flag.NewFlagSet("reload", flag.ContinueOnError)
	fset.SetOutput(io.Discard)
	fset.StringVar(&configPath, "config", configPath, "aaad's configuration file (its admin section)")
	if err := fset.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, reloadUsage)
			return 0
		}
		fmt.Fprint(stderr, reloadUsage)
		return fail(exitUsage, "%v", maskArgs(err, args))
	}
	switch {
	case fset.NArg() > 0:
		return fail(exitUsage, "unexpected argument %s", shownArg(fset.Arg(0)))
	case configPath == "":
		return fail(exitUsage, "--config FILE is required: aaad's configuration (its admin section: listen and token_file)")
	}
	cfg, err := loadCtlConfig(configPath)
	if err != nil {
		return fail(exitFailed, "%v", err)
	}
	ans, err := postReload(ctx, &cfg.Admin)
	if err != nil {
		return fail(exitFailed, "%v", err)
	}
	fmt.Fprintln(stdout, describeReload(ans))
	return 0
}

// describeReload says in words what aaad reloaded.
func describeReload(a *reloadAnswer) string {
	var b strings.Builder
	reloaded := make([]string, len(a.Reloaded))
	for i, r := range a.Reloaded {
		reloaded[i] = printable(r)
	}
	fmt.Fprintf(&b, "reloaded: %s", strings.Join(reloaded, ", "))
	fmt.Fprintf(&b, "\nradius clients: %d\nlog level: %s", a.Clients, printable(a.LogLevel))
	if s := a.Subscribers; s != nil {
		fmt.Fprintf(&b, "\nsubscribers: %d (%d added, %d removed)", s.Count, s.Added, s.Removed)
	}
	if n := a.IdentityPrivacyKeys; n != nil {
		fmt.Fprintf(&b, "\nidentity-privacy keys: %d", *n)
	}
	if len(a.Restart) > 0 {
		keys := make([]string, len(a.Restart))
		for i, k := range a.Restart {
			keys[i] = printable(k)
		}
		fmt.Fprintf(&b, "\nchanged, takes effect only after a restart: %s", strings.Join(keys, "; "))
	}
	return b.String()
}

// postReload sends POST /v1/reload {} to aaad's admin endpoint (the token
// of admin.token_file over TCP). An answer that is not "ok" is an error
// carrying aaad's reason.
func postReload(ctx context.Context, c *ctlAdminConfig) (*reloadAnswer, error) {
	var ans reloadAnswer
	if err := adminCall(ctx, c, http.MethodPost, "/v1/reload", struct{}{}, maxAdminAnswer, &ans, &ans.adminStatus); err != nil {
		return nil, err
	}
	return &ans, nil
}
