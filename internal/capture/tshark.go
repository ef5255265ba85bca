package capture

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// tsharkTimeout bounds one tshark run.
const tsharkTimeout = 2 * time.Minute

// Message is one Diameter message (PDU) as Wireshark decoded it, or (with
// Undecoded set) TCP payload on a Diameter port that Wireshark could not
// make a Diameter message of.
type Message struct {
	// Frame is the frame in which tshark dissected the message: where its
	// last byte is (a message spread over several segments is reassembled
	// there). One frame may hold several messages.
	Frame int
	// SrcPort and DstPort are the frame's TCP ports.
	SrcPort, DstPort int
	// Command is the command code, Request the R bit, App the
	// Application-Id, HopByHop the Hop-by-Hop Identifier.
	Command  uint32
	Request  bool
	App      uint32
	HopByHop uint32
	// Flags is the whole flags octet.
	Flags uint8
	// Summary is Wireshark's one-line name of the command, as it shows it
	// ("Command Code: Multimedia-Auth (303)").
	Summary string
	// Result is the Result-Code AVP of the message (0: none), and
	// ExperimentalResult the Experimental-Result-Code inside its
	// Experimental-Result (0: none).
	Result, ExperimentalResult uint32
	// Expert is every expert info Wireshark attached inside this message,
	// at any severity (Check decides which ones count).
	Expert []Expert
	// Malformed is the text of each "Malformed Packet" (an exception in a
	// dissector) Wireshark reported for this message.
	Malformed []string
	// Undecoded: TCP payload on a Diameter port that is part of no
	// Diameter message Wireshark decoded (a truncated message, a lost
	// segment, bytes that do not look like Diameter). Command is then 0.
	Undecoded bool
}

// Expert is one of Wireshark's expert infos.
type Expert struct {
	// Severity is "Comment", "Chat", "Note", "Warning" or "Error".
	Severity string
	// Group is e.g. "Malformed", "Undecoded", "Protocol", "Sequence".
	Group string
	// Message is its text ("Wrong AVP(296) length 100").
	Message string
	// Field is the filter name of the expert info's field, where
	// Wireshark gives one (diameter.invalid_avp_len, diameter.avp.code.unknown).
	Field string
	// AVP is the showname of the innermost AVP the info is attached
	// in, if any ("AVP: Origin-Realm(296) l=100 f=-M-").
	AVP string
}

func (e Expert) String() string {
	s := fmt.Sprintf("%s/%s: %s", e.Severity, e.Group, e.Message)
	if e.Field != "" {
		s += " [" + e.Field + "]"
	}
	if e.AVP != "" {
		s += " in " + e.AVP
	}
	return s
}

func (m Message) String() string {
	if m.Undecoded {
		return fmt.Sprintf("frame %d (%d->%d): TCP payload that is part of no Diameter message", m.Frame, m.SrcPort, m.DstPort)
	}
	kind := "answer"
	if m.Request {
		kind = "request"
	}
	s := fmt.Sprintf("frame %d (%d->%d): cmd %d %s app %d hbh 0x%08x", m.Frame, m.SrcPort, m.DstPort, m.Command, kind, m.App, m.HopByHop)
	if m.Result != 0 {
		s += fmt.Sprintf(" Result-Code %d", m.Result)
	}
	if m.ExperimentalResult != 0 {
		s += fmt.Sprintf(" Experimental-Result-Code %d", m.ExperimentalResult)
	}
	return s
}

// Diameter runs tshark on the capture file pcap, decoding the TCP ports
// given as Diameter (decode-as: the ports of a test are not 3868), and
// returns every Diameter message in it, in order of frames and, within a
// frame, of bytes; then one Undecoded entry for each frame whose TCP
// payload on those ports ended up in no Diameter message.
//
// It reads tshark's PDML (-T pdml), not -T fields: -T fields prints the
// values of a field for all messages of a frame in one column, so that a
// Result-Code or an expert info cannot be told apart between two messages
// of one segment; the PDML has one <proto name="diameter"> per message,
// with its AVPs and expert infos inside, and a "Malformed Packet" as a
// <proto name="_ws.malformed"> right after the message that threw.
func Diameter(t testing.TB, pcap string, ports ...int) []Message {
	t.Helper()
	if len(ports) == 0 {
		t.Fatal("capture.Diameter: no Diameter port")
	}
	out, args := runTshark(t, pcap, ports, "-T", "pdml")
	msgs, seen, err := parsePDML(bytes.NewReader(out), ports)
	if err != nil {
		t.Fatalf("capture.Diameter: reading the PDML of tshark %s: %v", strings.Join(args, " "), err)
	}
	// Cross-check: every expert info tshark's own expert tap counts for
	// the Diameter protocol must have been found in the PDML, or this
	// reading of it is blind to something.
	out, args = runTshark(t, pcap, ports, "-q", "-z", "expert")
	rows, err := parseExpertTap(string(out))
	if err != nil {
		t.Fatalf("capture.Diameter: reading tshark %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	for _, r := range rows {
		if r.Protocol == "Diameter" && seen[r.Summary] < r.Count {
			t.Errorf("capture.Diameter: tshark -z expert counts %d× %s/%s %q in Diameter, the PDML has it %d×: "+
				"capture.Diameter misses expert infos\n%s", r.Count, r.Severity, r.Group, r.Summary, seen[r.Summary], out)
		}
	}
	return msgs
}

// expertRow is one line of tshark's expert tap (-z expert).
type expertRow struct {
	Severity, Group, Protocol, Summary string
	Count                              int
}

var (
	// "Errors (1)", "Warnings (3)", ...: the tap's sections, by severity.
	expertSectionRE = regexp.MustCompile(`^(Errors|Warnings|Notes|Chats|Comments) \(\d+\)$`)
	// printf("%12u %10s %18s  %s\n", frequency, group, protocol, summary)
	// in ui/cli/tap-expert.c; a protocol name has no double space.
	expertRowRE = regexp.MustCompile(`^ *(\d+) +(\S+) +(.+?)  (.*)$`)
)

// parseExpertTap reads the output of tshark -q -z expert.
func parseExpertTap(out string) ([]expertRow, error) {
	var rows []expertRow
	sev := ""
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimRight(line, "\r")
		if m := expertSectionRE.FindStringSubmatch(line); m != nil {
			sev = strings.TrimSuffix(m[1], "s")
			continue
		}
		if sev == "" || strings.TrimSpace(line) == "" || strings.HasPrefix(line, "====") ||
			strings.HasPrefix(strings.TrimSpace(line), "Frequency") {
			continue
		}
		m := expertRowRE.FindStringSubmatch(line)
		if m == nil {
			return nil, fmt.Errorf("unexpected line %q", line)
		}
		n, _ := strconv.Atoi(m[1])
		rows = append(rows, expertRow{Severity: sev, Group: m[2], Protocol: strings.TrimSpace(m[3]), Summary: m[4], Count: n})
	}
	return rows, nil
}

// runTshark runs tshark -r pcap with the decode-as of ports and extra, and
// returns its standard output.
func runTshark(t testing.TB, pcap string, ports []int, extra ...string) ([]byte, []string) {
	t.Helper()
	bin := findTool("tshark")
	if bin == "" {
		t.Fatal("tshark not found (Debian's tshark): run scripts/install-test-deps.sh")
	}
	args := []string{"-n", "-r", pcap,
		// The defaults, stated: messages over several segments are
		// reassembled (else they would not be decoded at all).
		"-o", "diameter.desegment:TRUE", "-o", "tcp.desegment_tcp_streams:TRUE"}
	for _, p := range ports {
		args = append(args, "-d", fmt.Sprintf("tcp.port==%d,diameter", p))
	}
	args = append(args, extra...)
	ctx, cancel := context.WithTimeout(context.Background(), tsharkTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	// An empty configuration directory: no preference, decode-as or
	// disabled protocol of the machine's user changes the decoding.
	cmd.Env = append(os.Environ(), "WIRESHARK_CONFIG_DIR="+t.TempDir())
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("tshark %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.Bytes(), args
}

// pdmlNode is a <proto> or <field> of tshark's PDML.
type pdmlNode struct {
	XMLName  xml.Name
	Name     string     `xml:"name,attr"`
	Show     string     `xml:"show,attr"`
	ShowName string     `xml:"showname,attr"`
	Hide     string     `xml:"hide,attr"`
	Value    string     `xml:"value,attr"`
	Children []pdmlNode `xml:",any"`
}

// find returns the first node named name in the subtree of n (n excluded),
// depth first.
func (n *pdmlNode) find(name string) *pdmlNode {
	for i := range n.Children {
		c := &n.Children[i]
		if c.Name == name {
			return c
		}
		if f := c.find(name); f != nil {
			return f
		}
	}
	return nil
}

// child returns the first direct child named name.
func (n *pdmlNode) child(name string) *pdmlNode {
	for i := range n.Children {
		if n.Children[i].Name == name {
			return &n.Children[i]
		}
	}
	return nil
}

// walk calls fn on every node under n with the innermost diameter.avp
// above it (or nil).
func (n *pdmlNode) walk(avp *pdmlNode, fn func(node, avp *pdmlNode)) {
	for i := range n.Children {
		c := &n.Children[i]
		fn(c, avp)
		inner := avp
		if c.Name == "diameter.avp" {
			inner = c
		}
		c.walk(inner, fn)
	}
}

type pdmlPacket struct {
	Protos []pdmlNode `xml:"proto"`
}

// Expert severities and groups (epan/proto.h, PI_SEVERITY_MASK and
// PI_GROUP_MASK values), as PDML's _ws.expert.severity/group show them.
var (
	severities = map[uint32]string{0x00100000: "Comment", 0x00200000: "Chat", 0x00400000: "Note", 0x00600000: "Warning", 0x00800000: "Error"}
	groups     = map[uint32]string{
		0x01000000: "Checksum", 0x02000000: "Sequence", 0x03000000: "Response", 0x04000000: "Request",
		0x05000000: "Undecoded", 0x06000000: "Reassemble", 0x07000000: "Malformed", 0x08000000: "Debug",
		0x09000000: "Protocol", 0x0a000000: "Security", 0x0b000000: "Comment", 0x0c000000: "Decryption",
		0x0d000000: "Assumption", 0x0e000000: "Deprecated",
	}
)

func lookupName(m map[uint32]string, show string) string {
	v, err := strconv.ParseUint(show, 0, 32)
	if err != nil {
		return show
	}
	if s, ok := m[uint32(v)]; ok {
		return s
	}
	return show
}

// expertOf reads an _ws.expert node.
func expertOf(n, avp *pdmlNode) Expert {
	e := Expert{Message: n.ShowName}
	if c := n.child("_ws.expert.message"); c != nil {
		e.Message = c.Show
	}
	if c := n.child("_ws.expert.severity"); c != nil {
		e.Severity = lookupName(severities, c.Show)
	}
	if c := n.child("_ws.expert.group"); c != nil {
		e.Group = lookupName(groups, c.Show)
	}
	for _, c := range n.Children {
		if !strings.HasPrefix(c.Name, "_ws.expert") {
			e.Field = c.Name
			break
		}
	}
	if avp != nil {
		e.AVP = avp.ShowName
	}
	return e
}

func parseUint(s string) uint32 {
	v, _ := strconv.ParseUint(strings.TrimSpace(s), 0, 32)
	return uint32(v)
}

// diameterMessage reads a <proto name="diameter">.
func diameterMessage(p *pdmlNode, frame, src, dst int) Message {
	m := Message{Frame: frame, SrcPort: src, DstPort: dst}
	if c := p.child("diameter.cmd.code"); c != nil {
		m.Command = parseUint(c.Show)
		m.Summary = c.ShowName
	}
	if c := p.child("diameter.flags"); c != nil {
		if v, err := strconv.ParseUint(c.Value, 16, 8); err == nil {
			m.Flags = uint8(v)
			m.Request = v&0x80 != 0
		}
	}
	if c := p.child("diameter.applicationId"); c != nil {
		m.App = parseUint(c.Show)
	}
	if c := p.child("diameter.hopbyhopid"); c != nil {
		m.HopByHop = parseUint(c.Show)
	}
	for i := range p.Children {
		avp := &p.Children[i]
		if avp.Name != "diameter.avp" {
			continue
		}
		if c := avp.child("diameter.Result-Code"); c != nil && m.Result == 0 {
			m.Result = parseUint(c.Show)
		}
		if c := avp.find("diameter.Experimental-Result-Code"); c != nil && m.ExperimentalResult == 0 {
			m.ExperimentalResult = parseUint(c.Show)
		}
	}
	p.walk(nil, func(n, avp *pdmlNode) {
		switch n.Name {
		case "_ws.expert":
			m.Expert = append(m.Expert, expertOf(n, avp))
		case "_ws.malformed":
			// Wireshark adds a hidden "_ws.malformed" beside each
			// expert info of the group Malformed (for the display
			// filter): that one is the expert info, reported as such.
			if n.Hide != "yes" {
				m.Malformed = append(m.Malformed, n.ShowName)
			}
		}
	})
	return m
}

// parsePDML reads tshark's PDML and returns the Diameter messages (see
// Diameter).
func parsePDML(r io.Reader, ports []int) (msgs []Message, seen map[string]int, err error) {
	isPort := map[int]bool{}
	for _, p := range ports {
		isPort[p] = true
	}
	type payload struct{ frame, src, dst int }
	seen = map[string]int{} // expert infos in Diameter messages, by message
	var (
		payloads []payload        // frames with TCP payload on a Diameter port
		covered  = map[int]bool{} // frames holding bytes of a decoded message
		// segments: frame -> frames where a PDU it is part of was reassembled
		segments = map[int][]int{}
	)
	dec := xml.NewDecoder(r)
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, err
		}
		se, ok := tok.(xml.StartElement)
		if !ok || se.Name.Local != "packet" {
			continue
		}
		var pkt pdmlPacket
		if err := dec.DecodeElement(&pkt, &se); err != nil {
			return nil, nil, err
		}
		var frame, src, dst, tcpLen int
		var tcp *pdmlNode
		for i := range pkt.Protos {
			p := &pkt.Protos[i]
			switch p.Name {
			case "geninfo":
				if c := p.child("num"); c != nil {
					frame, _ = strconv.Atoi(c.Show)
				}
			case "tcp":
				tcp = p
				if c := p.child("tcp.srcport"); c != nil {
					src, _ = strconv.Atoi(c.Show)
				}
				if c := p.child("tcp.dstport"); c != nil {
					dst, _ = strconv.Atoi(c.Show)
				}
				if c := p.child("tcp.len"); c != nil {
					tcpLen, _ = strconv.Atoi(c.Show)
				}
			}
		}
		if tcp == nil || !(isPort[src] || isPort[dst]) {
			continue // the end marker, or nothing of ours
		}
		if tcpLen > 0 {
			payloads = append(payloads, payload{frame, src, dst})
		}
		first := len(msgs) // this frame's messages start here
		// A message reassembled from several segments lists them
		// (tcp.segments, each tcp.segment showing its frame).
		for i := range pkt.Protos {
			pkt.Protos[i].walk(nil, func(n, _ *pdmlNode) {
				if n.Name == "tcp.segment" {
					if f, err := strconv.Atoi(n.Show); err == nil {
						segments[f] = append(segments[f], frame)
					}
				}
			})
		}
		for i := range pkt.Protos {
			p := &pkt.Protos[i]
			switch p.Name {
			case "diameter":
				m := diameterMessage(p, frame, src, dst)
				for _, e := range m.Expert {
					seen[e.Message]++
				}
				msgs = append(msgs, m)
				covered[frame] = true
			case "_ws.malformed":
				// show_exception() puts it after the message whose
				// dissection threw.
				text := p.ShowName
				if e := p.find("_ws.expert.message"); e != nil {
					text += ": " + e.Show
					seen[e.Show]++
				}
				if len(msgs) > first {
					last := &msgs[len(msgs)-1]
					last.Malformed = append(last.Malformed, text)
				} else {
					msgs = append(msgs, Message{Frame: frame, SrcPort: src, DstPort: dst, Malformed: []string{text}, Undecoded: true})
					covered[frame] = true
				}
			}
		}
	}
	var undecoded []Message
	for _, p := range payloads {
		for _, f := range segments[p.frame] {
			if covered[f] {
				covered[p.frame] = true
			}
		}
		if !covered[p.frame] {
			undecoded = append(undecoded, Message{Frame: p.frame, SrcPort: p.src, DstPort: p.dst, Undecoded: true})
		}
	}
	sort.SliceStable(undecoded, func(i, j int) bool { return undecoded[i].Frame < undecoded[j].Frame })
	return append(msgs, undecoded...), seen, nil
}

// Exception is a report of Wireshark's that Check does not count, because
// it is a limitation of Wireshark (its dictionary or dissector), not a
// fault of the message: each one says exactly what it matches and why.
type Exception struct {
	// Why it is Wireshark's and not ours, with the reference.
	Why string
	// Match reports whether the expert info e of message m is this one.
	Match func(m Message, e Expert) bool
}

// Exceptions are Wireshark 4.0's (Debian 12's tshark 4.0.17) known
// limitations. Against our SWx (TS 29.273) and base protocol (RFC 6733)
// messages it reports nothing at Warning or above; against Diameter EAP,
// one thing.
var Exceptions = []Exception{{
	Why: "EAP-Key-Name (102) is an OctetString (RFC 4072 4.1.4) and holds the " +
		"binary EAP Session-Id (RFC 5247: method type || RAND || AUTN); " +
		"Wireshark 4.0 shows it as a string and, when an octet is 0, " +
		"calls the octets after it trailing stray characters",
	Match: func(_ Message, e Expert) bool {
		return e.Field == "_ws.string.trailing_stray_characters" && strings.HasPrefix(e.AVP, "AVP: EAP-Key-Name(102)")
	},
}}

// Problems returns, one line each, what makes msgs not a clean capture:
//   - no Diameter message at all (wrong ports, or nothing was exchanged);
//   - every "Malformed Packet" (a dissector threw on the message);
//   - TCP payload on a Diameter port that is part of no Diameter message;
//   - every expert info of the group Malformed, whatever its severity
//     (Wireshark files "Padding is non-zero" and "Padding is missing"
//     under Malformed at Note level: both are encoding faults);
//   - every expert info at Warning or Error, whatever its group: "Unknown
//     AVP", "Unknown Vendor", "Unknown command", "Unknown Application Id"
//     (our dictionary or vendor bits disagree with the 3GPP one's),
//     "Data is empty", "Wrong length", "Reserved bit set", ...
//
// except those an Exception matches. Chat, Note and Comment infos of other
// groups (none of Wireshark's Diameter dissector's) do not count.
func Problems(msgs []Message) []string {
	var out []string
	n := 0
	for _, m := range msgs {
		if !m.Undecoded {
			n++
		}
	}
	if n == 0 {
		out = append(out, "no Diameter message decoded in the capture (wrong ports, or nothing exchanged)")
	}
	for _, m := range msgs {
		var why []string
		if m.Undecoded && len(m.Malformed) == 0 {
			why = append(why, "TCP payload that is part of no Diameter message Wireshark decoded (truncated message? lost segment?)")
		}
		for _, s := range m.Malformed {
			why = append(why, "Malformed: "+s)
		}
	expert:
		for _, e := range m.Expert {
			if e.Group != "Malformed" && e.Severity != "Warning" && e.Severity != "Error" {
				continue
			}
			for _, x := range Exceptions {
				if x.Match(m, e) {
					continue expert
				}
			}
			why = append(why, "Expert "+e.String())
		}
		if len(why) > 0 {
			out = append(out, m.String()+":\n\t"+strings.Join(why, "\n\t"))
		}
	}
	return out
}

// Check fails the test (t.Errorf, so that it goes on) with every problem
// of Problems, and reports whether there was none. On failure it also logs
// every message decoded, for context.
func Check(t testing.TB, msgs []Message) bool {
	t.Helper()
	probs := Problems(msgs)
	if len(probs) == 0 {
		return true
	}
	var all []string
	for _, m := range msgs {
		all = append(all, "  "+m.String())
	}
	t.Errorf("Wireshark (tshark) reports %d problem(s) in the captured Diameter:\n%s\n--- every message decoded:\n%s",
		len(probs), strings.Join(probs, "\n"), strings.Join(all, "\n"))
	return false
}
