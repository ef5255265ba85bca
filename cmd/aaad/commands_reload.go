package main

// Reload implements reloadCommands: the reload SIGHUP does, logged the
// same way.
func (c swxCommands) Reload() (*reloadSummary, error) { return c.a.reload() }
