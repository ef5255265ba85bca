package hss

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// Files as editors and spreadsheets write them: a byte order mark, CRLF or
// lone-CR line ends. Each must read as the plain LF file does.
func TestReadSubscribersCSV_Encodings(t *testing.T) {
	lines := []string{
		"imsi,k,opc,amf,sqn",
		"# a comment",
		"001010000000001," + set1K + "," + set1OPc + ",8000,000000000020",
		"001010000000002," + set1K + "," + set1OPc + ",8000,000000000040",
	}
	lf := strings.Join(lines, "\n") + "\n"
	for _, tc := range []struct{ name, in string }{
		{"LF", lf},
		{"no final line end", strings.TrimSuffix(lf, "\n")},
		{"CRLF", strings.Join(lines, "\r\n") + "\r\n"},
		{"lone CR", strings.Join(lines, "\r") + "\r"},
		{"lone CR, no final line end", strings.Join(lines, "\r")},
		{"BOM and LF", "\xef\xbb\xbf" + lf},
		{"BOM and CRLF", "\xef\xbb\xbf" + strings.Join(lines, "\r\n") + "\r\n"},
		{"BOM and lone CR", "\xef\xbb\xbf" + strings.Join(lines, "\r")},
		{"mixed line ends", lines[0] + "\r" + lines[1] + "\r\n" + lines[2] + "\n" + lines[3] + "\r"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// One byte at a time too: a CRLF split across reads is one
			// line end.
			for _, r := range []struct {
				name string
				r    io.Reader
			}{
				{"whole", strings.NewReader(tc.in)},
				{"one byte at a time", iotest.OneByteReader(strings.NewReader(tc.in))},
			} {
				subs, err := ReadSubscribersCSV(r.r)
				if err != nil {
					t.Fatalf("%s: %v", r.name, err)
				}
				if len(subs) != 2 || subs[0].IMSI != "001010000000001" || subs[0].SQN != 0x20 ||
					subs[1].IMSI != "001010000000002" || subs[1].SQN != 0x40 || subs[1].OPc != mustOPc(t, set1OPc) {
					t.Fatalf("%s: got %+v", r.name, subs)
				}
			}
		})
	}
}

// Errors name the line as an editor counts it, whatever the line ends, and
// never quote key material.
func TestReadSubscribersCSV_ErrorLines(t *testing.T) {
	good := func(imsi string) string { return imsi + "," + set1K + "," + set1OPc + ",8000,000000000000" }
	for _, tc := range []struct {
		name  string
		lines []string
		want  string
	}{
		{"duplicate IMSI", []string{"imsi,k,opc,amf,sqn", good("001010000000001"), good("001010000000002"), "# comment", good("001010000000001")},
			"subscribers: line 5: IMSI listed twice (first on line 2)"},
		{"duplicate IMSI with blank lines", []string{"imsi,k,opc,amf,sqn", "", good("001010000000003"), "", "", "", good("001010000000003")},
			"subscribers: line 7: IMSI listed twice (first on line 3)"},
		{"bad row after comments", []string{"# header follows", "imsi,k,opc,amf,sqn", good("001010000000001"), "001010000000002," + set1K[:30] + "," + set1OPc + ",8000,000000000000"},
			"subscribers: line 4: column k"},
		{"header twice a column", []string{"imsi,k,opc,amf,sqn,K"}, "header: columns 2 and 6 have the same name"},
		// A file without its header: the first row of keys must not be
		// quoted back as column names.
		{"no header, a repeated key", []string{good("001010000000001") + "," + set1K}, "header: columns 2 and 6 have the same name"},
	} {
		for _, eol := range []struct{ name, s string }{{"LF", "\n"}, {"CRLF", "\r\n"}, {"CR", "\r"}} {
			t.Run(tc.name+"/"+eol.name, func(t *testing.T) {
				in := "\xef\xbb\xbf" + strings.Join(tc.lines, eol.s) + eol.s
				_, err := ReadSubscribersCSV(strings.NewReader(in))
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("err = %v, want it to say %q", err, tc.want)
				}
				if strings.Contains(err.Error(), set1K[:8]) || strings.Contains(err.Error(), set1OPc[:8]) {
					t.Errorf("error quotes key material: %v", err)
				}
			})
		}
	}
}

// Past a bad row the reader goes on: one run names every bad row by its
// line, in order, and returns no row at all.
func TestReadSubscriberRows_EveryBadRow(t *testing.T) {
	good := func(imsi string) string { return imsi + "," + set1K + "," + set1OPc + ",8000,000000000000" }
	in := strings.Join([]string{
		"imsi,k,opc,amf,sqn",
		good("001010000000001"),
		good("0010100000000x2"),
		"001010000000003," + set1K + "," + set1OPc + ",8000",
		"001010000000004,\"" + set1K + "\"x," + set1OPc + ",8000,000000000000",
		"# comment",
		good("001010000000001"),
		"001010000000005," + set1K + "," + set1OPc + ",80000,000000000000",
		good("001010000000006"),
	}, "\r\n") + "\r\n"
	rows, err := ReadSubscriberRows(strings.NewReader(in))
	if rows != nil {
		t.Fatalf("%d rows returned with an error", len(rows))
	}
	var bad RowErrors
	if !errors.As(err, &bad) {
		t.Fatalf("err = %v, want RowErrors", err)
	}
	want := []string{
		"line 3: column imsi: want 6 to 15 digits",
		"line 4: wrong number of fields (the header has 5)",
		"line 5: character 50: extraneous or missing \" in quoted-field",
		"line 7: IMSI listed twice (first on line 2)",
		"line 8: column amf: want 4 hex digits",
	}
	var got []string
	for _, b := range bad {
		got = append(got, b.Error())
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if strings.Contains(err.Error(), set1K[:8]) || !strings.HasPrefix(err.Error(), "subscribers: 5 bad rows\nsubscribers: line 3: ") {
		t.Fatalf("error: %v", err)
	}
	// A good file: each row with its line.
	rows, err = ReadSubscriberRows(strings.NewReader("imsi,k,opc,amf,sqn\n# c\n" + good("001010000000001") + "\n\n" + good("001010000000002") + "\n"))
	if err != nil || len(rows) != 2 || rows[0].Line != 3 || rows[1].Line != 5 || rows[1].IMSI != "001010000000002" {
		t.Fatalf("%v %v", rows, err)
	}
}
