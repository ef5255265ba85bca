package test

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	dto "github.com/prometheus/client_model/go"
)

// The Grafana dashboard shipped in configs/ must ask only for what aaad
// serves: every metric family its PromQL names, every label it filters or
// groups on, and every label value it matches. Read from the sources and
// the client library's own collectors; no Grafana, no network.

// grafanaPanel is what the test reads of a panel (rows nest theirs when
// collapsed).
type grafanaPanel struct {
	ID      int            `json:"id"`
	Type    string         `json:"type"`
	Title   string         `json:"title"`
	Panels  []grafanaPanel `json:"panels"`
	Targets []struct {
		Expr  string `json:"expr"`
		RefID string `json:"refId"`
	} `json:"targets"`
}

type grafanaDashboard struct {
	Inputs []struct {
		Name     string `json:"name"`
		PluginID string `json:"pluginId"`
	} `json:"__inputs"`
	SchemaVersion int            `json:"schemaVersion"`
	Panels        []grafanaPanel `json:"panels"`
	Templating    struct {
		List []struct {
			Name string `json:"name"`
		} `json:"list"`
	} `json:"templating"`
}

func grafanaRoot() string {
	if moduleRoot != "" {
		return moduleRoot
	}
	return ".."
}

// servedFamilies returns the families aaad serves with their label names:
// aaad's own from the prometheus.NewDesc calls of commands_metrics.go, and
// those of the Go and process collectors it registers, gathered here.
func servedFamilies(t *testing.T, root string) map[string][]string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(root, "cmd", "aaad", "commands_metrics.go"))
	if err != nil {
		t.Fatal(err)
	}
	desc := regexp.MustCompile(`(\w+)\s*=\s*prometheus\.NewDesc\(\s*"([a-zA-Z_:][a-zA-Z0-9_:]*)",\s*"(?:[^"\\]|\\.)*",\s*(nil|\[\]string\{([^}]*)\})`)
	fams := map[string][]string{}
	parsed := 0
	for _, m := range desc.FindAllStringSubmatch(string(src), -1) {
		parsed++
		v, name := m[1], m[2]
		var labels []string
		for _, l := range regexp.MustCompile(`"([a-z_]+)"`).FindAllStringSubmatch(m[4], -1) {
			labels = append(labels, l[1])
		}
		// A desc read out as a histogram (commands_metrics.go's
		// histogram helper, or a const histogram) or a summary is served
		// as its series, not under its own name.
		usedAs := func(fn string) bool {
			return regexp.MustCompile(`\b` + fn + `\(\s*` + regexp.QuoteMeta(v) + `\b`).Match(src)
		}
		switch {
		case usedAs("histogram") || usedAs("MustNewConstHistogram") || usedAs("NewConstHistogram"):
			fams[name+"_bucket"] = append(slices.Clone(labels), "le")
			fams[name+"_sum"] = labels
			fams[name+"_count"] = labels
		case usedAs("MustNewConstSummary") || usedAs("NewConstSummary"):
			fams[name] = append(slices.Clone(labels), "quantile")
			fams[name+"_sum"] = labels
			fams[name+"_count"] = labels
		default:
			fams[name] = labels
		}
	}
	if n := strings.Count(string(src), "prometheus.NewDesc("); n != parsed || n == 0 {
		t.Fatalf("commands_metrics.go: %d prometheus.NewDesc calls, %d parsed: update the test's pattern", n, parsed)
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	got, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	process := false
	for _, mf := range got {
		name := mf.GetName()
		process = process || strings.HasPrefix(name, "process_")
		var labels []string
		if len(mf.Metric) > 0 {
			for _, lp := range mf.Metric[0].Label {
				labels = append(labels, lp.GetName())
			}
		}
		fams[name] = labels
		switch mf.GetType() {
		case dto.MetricType_SUMMARY, dto.MetricType_HISTOGRAM:
			if mf.GetType() == dto.MetricType_SUMMARY {
				fams[name] = append(slices.Clone(labels), "quantile")
			} else {
				delete(fams, name)
			}
			fams[name+"_sum"] = labels
			fams[name+"_count"] = labels
			if mf.GetType() == dto.MetricType_HISTOGRAM {
				fams[name+"_bucket"] = append(slices.Clone(labels), "le")
			}
		}
	}
	if !process {
		// A platform without procfs gathers none; these are the process
		// collector's on Linux, where aaad runs.
		for _, n := range []string{"process_cpu_seconds_total", "process_open_fds", "process_max_fds",
			"process_virtual_memory_bytes", "process_virtual_memory_max_bytes",
			"process_resident_memory_bytes", "process_start_time_seconds"} {
			fams[n] = nil
		}
	}
	return fams
}

// servedLabelValues returns the label values aaad can put on its series:
// the string literals of the files that name its events and reasons (the
// Snapshot maps, the drop and EAP failure reason names) and of cmd/aaad
// (front ends, methods, results, vector backends and error kinds), and
// the snake-cased uint64 fields of swx.ClientStats and swx.ServerStats.
func servedLabelValues(t *testing.T, root string) map[string]bool {
	t.Helper()
	vals := map[string]bool{}
	lit := regexp.MustCompile(`"([a-z][a-z0-9_\-]*)"`)
	files := []string{"radius/server.go", "radius/clients.go", "diameter/node.go",
		"diameter/eapfront/server.go", "eap/server.go"}
	// cmd/aaad names the front ends, methods, results, backends and kinds.
	cmd, err := filepath.Glob(filepath.Join(root, "cmd", "aaad", "*.go"))
	if err != nil || len(cmd) == 0 {
		t.Fatalf("no cmd/aaad/*.go under %s (%v)", root, err)
	}
	for _, f := range cmd {
		if !strings.HasSuffix(f, "_test.go") {
			rel, _ := filepath.Rel(root, f)
			files = append(files, filepath.ToSlash(rel))
		}
	}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(f)))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range lit.FindAllStringSubmatch(string(b), -1) {
			vals[m[1]] = true
		}
	}
	for file, typ := range map[string]string{"client.go": "ClientStats", "server.go": "ServerStats"} {
		path := filepath.Join(root, "diameter", "swx", file)
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		ast.Inspect(f, func(n ast.Node) bool {
			ts, ok := n.(*ast.TypeSpec)
			if !ok || ts.Name.Name != typ {
				return true
			}
			st, ok := ts.Type.(*ast.StructType)
			if !ok {
				return false
			}
			found = true
			for _, fld := range st.Fields.List {
				if id, ok := fld.Type.(*ast.Ident); ok && id.Name == "uint64" {
					for _, name := range fld.Names {
						vals[metricSnake(name.Name)] = true
					}
				}
			}
			return false
		})
		if !found {
			t.Fatalf("%s: no struct %s", path, typ)
		}
	}
	return vals
}

// metricSnake is cmd/aaad's snake ("MARSent" becomes "mar_sent"), by
// which the swx stats fields become event label values.
func metricSnake(s string) string {
	var b strings.Builder
	for i, r := range s {
		upper := r >= 'A' && r <= 'Z'
		if upper && i > 0 {
			prev := s[i-1]
			next := byte(0)
			if i+1 < len(s) {
				next = s[i+1]
			}
			if prev >= 'a' && prev <= 'z' || next >= 'a' && next <= 'z' && prev >= 'A' && prev <= 'Z' {
				b.WriteByte('_')
			}
		}
		if upper {
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// knownValue: v is a value aaad emits, or the "dropped_" and "eap_failure_"
// prefixes it builds them with followed by one. A trailing ".+" or ".*"
// matches when some value has the prefix.
func knownValue(vals map[string]bool, v string) bool {
	if p, ok := strings.CutSuffix(v, ".+"); ok {
		v = p
	} else if p, ok := strings.CutSuffix(v, ".*"); ok {
		v = p
	} else {
		if vals[v] {
			return true
		}
		for _, pre := range []string{"dropped_", "eap_failure_"} {
			if rest, ok := strings.CutPrefix(v, pre); ok && vals[rest] {
				return true
			}
		}
		return false
	}
	for k := range vals {
		if strings.HasPrefix(k, v) || strings.HasPrefix("dropped_"+k, v) || strings.HasPrefix("eap_failure_"+k, v) {
			return true
		}
	}
	return false
}

func TestGrafanaDashboard(t *testing.T) {
	root := grafanaRoot()
	raw, err := os.ReadFile(filepath.Join(root, "configs", "grafana-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d grafanaDashboard
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("configs/grafana-dashboard.json: %v", err)
	}
	if d.SchemaVersion < 36 {
		t.Errorf("schemaVersion %d: want a current one (39)", d.SchemaVersion)
	}
	if len(d.Inputs) != 1 || d.Inputs[0].Name != "DS_PROMETHEUS" || d.Inputs[0].PluginID != "prometheus" {
		t.Errorf("__inputs: want one Prometheus datasource input DS_PROMETHEUS, got %+v", d.Inputs)
	}
	if !strings.Contains(string(raw), `"uid": "${DS_PROMETHEUS}"`) {
		t.Error("no panel uses the ${DS_PROMETHEUS} datasource")
	}
	hasInstance := false
	for _, v := range d.Templating.List {
		hasInstance = hasInstance || v.Name == "instance"
	}
	if !hasInstance {
		t.Error("no template variable named instance")
	}

	fams := servedFamilies(t, root)
	vals := servedLabelValues(t, root)
	// Labels Prometheus adds to every series it scrapes.
	targetLabels := map[string]bool{"instance": true, "job": true}

	var panels []grafanaPanel
	var walk func([]grafanaPanel)
	walk = func(ps []grafanaPanel) {
		for _, p := range ps {
			if p.Type == "row" {
				walk(p.Panels)
				continue
			}
			panels = append(panels, p)
		}
	}
	walk(d.Panels)
	if len(panels) == 0 {
		t.Fatal("the dashboard has no panels")
	}

	quoted := regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	metric := regexp.MustCompile(`\b((?:aaad|go|process)_[a-z0-9_]+)\b`)
	selector := regexp.MustCompile(`\b([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}`)
	matcher := regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"`)
	grouping := regexp.MustCompile(`\b(?:by|without)\s*\(([^)]*)\)`)

	ids := map[int]string{}
	families := map[string]bool{}
	for _, p := range panels {
		if prev, dup := ids[p.ID]; dup {
			t.Errorf("panel %q: id %d also used by %q", p.Title, p.ID, prev)
		}
		ids[p.ID] = p.Title
		if len(p.Targets) == 0 {
			t.Errorf("panel %q: no target", p.Title)
		}
		for _, tg := range p.Targets {
			expr := tg.Expr
			where := p.Title + " " + tg.RefID
			if strings.TrimSpace(expr) == "" {
				t.Errorf("%s: empty expr", where)
				continue
			}
			if !strings.Contains(expr, `instance=~"$instance"`) {
				t.Errorf("%s: %s: not filtered by the instance variable", where, expr)
			}
			// Family names, outside label values.
			names := metric.FindAllString(quoted.ReplaceAllString(expr, `""`), -1)
			if len(names) == 0 {
				t.Errorf("%s: %s: names no aaad, go or process family", where, expr)
			}
			inExpr := map[string]bool{}
			for _, n := range names {
				if _, ok := fams[n]; !ok {
					t.Errorf("%s: unknown metric family %s (not in cmd/aaad/commands_metrics.go or the Go/process collectors)", where, n)
					continue
				}
				inExpr[n] = true
				families[n] = true
			}
			// Matchers: a label of the family, and a value aaad emits.
			for _, s := range selector.FindAllStringSubmatch(expr, -1) {
				labels, ok := fams[s[1]]
				if !ok {
					continue // reported above
				}
				for _, m := range matcher.FindAllStringSubmatch(s[2], -1) {
					label, value := m[1], m[3]
					if targetLabels[label] {
						continue
					}
					if !contains(labels, label) {
						t.Errorf("%s: %s has no label %q (it has %v)", where, s[1], label, labels)
						continue
					}
					if strings.Contains(value, "$") {
						continue // a template variable
					}
					for _, alt := range strings.Split(value, "|") {
						if !knownValue(vals, alt) {
							t.Errorf("%s: %s{%s%s%q}: no such value in aaad's sources", where, s[1], label, m[2], alt)
						}
					}
				}
			}
			// Grouping labels: carried by some family of the expression.
			for _, g := range grouping.FindAllStringSubmatch(expr, -1) {
				for _, label := range strings.Split(g[1], ",") {
					label = strings.TrimSpace(label)
					if label == "" || targetLabels[label] {
						continue
					}
					found := false
					for n := range inExpr {
						found = found || contains(fams[n], label)
					}
					if !found {
						t.Errorf("%s: groups by %q, which no family of %s carries", where, label, expr)
					}
				}
			}
		}
	}
	// A family of aaad's own that no panel shows is reported, not failed:
	// a new family may come before its panel.
	// A histogram is shown when one of its series is.
	base := func(n string) string {
		for _, suf := range []string{"_bucket", "_sum", "_count"} {
			if b, ok := strings.CutSuffix(n, suf); ok {
				if _, hist := fams[b+"_bucket"]; hist {
					return b
				}
			}
		}
		return n
	}
	shown := map[string]bool{}
	for n := range families {
		shown[base(n)] = true
	}
	for n := range fams {
		if strings.HasPrefix(n, "aaad_") && !shown[base(n)] {
			t.Logf("aaad serves %s but no panel shows it", n)
		}
	}
	t.Logf("%d panels, %d families", len(panels), len(families))
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
