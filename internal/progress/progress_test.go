package progress

import (
	"bytes"
	"testing"
	"time"
)

func TestSummary(t *testing.T) {
	tests := []struct {
		name       string
		size, done int64
		elapsed    time.Duration
		want       string
	}{
		{"big", 50 << 20, 25 << 20, time.Second, "big   50%  25.0 MiB  25.0 MiB/s"},
		{"n1:/x", 100, 100, 2 * time.Second, "n1:/x  100%  100 B  50 B/s"},
		{"empty", 0, 0, 0, "empty  100%  0 B  -"},
		{"g", 3 << 30, 3 << 30, 10 * time.Second, "g  100%  3.0 GiB  307.2 MiB/s"},
	}
	for _, tc := range tests {
		if got := Summary(tc.name, tc.size, tc.done, tc.elapsed); got != tc.want {
			t.Errorf("Summary(%q, %d, %d, %v) = %q, want %q", tc.name, tc.size, tc.done, tc.elapsed, got, tc.want)
		}
	}
}

func TestBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1536 << 10: "1.5 MiB", 5 << 40: "5.0 TiB", 3 << 50: "3.0 PiB"} {
		if got := Bytes(n); got != want {
			t.Errorf("Bytes(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestPlainLines: without a terminal, quarter lines and a summary as the
// options ask, and nothing for a nil writer.
func TestPlainLines(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		size int64
		want string
	}{
		{"quarters", Options{Quarters: true}, 1 << 20, "  25% (256.0 KiB of 1.0 MiB)\n  50% (512.0 KiB of 1.0 MiB)\n  75% (768.0 KiB of 1.0 MiB)\n"},
		{"quarters of an unknown size", Options{Quarters: true}, -1, ""},
		{"summary", Options{Summary: true}, 1 << 20, "f  100%  1.0 MiB  "},
		{"neither", Options{}, 1 << 20, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			b := New(&buf, "f", tc.size, tc.opts)
			chunk := make([]byte, 64<<10)
			for range 16 {
				if _, err := b.Write(chunk); err != nil {
					t.Fatal(err)
				}
			}
			b.Finish()
			got := buf.String()
			if tc.opts.Summary {
				// the rate depends on the clock
				if len(got) < len(tc.want) || got[:len(tc.want)] != tc.want || got[len(got)-1] != '\n' {
					t.Errorf("output %q, want a line starting %q", got, tc.want)
				}
				return
			}
			if got != tc.want {
				t.Errorf("output %q, want %q", got, tc.want)
			}
		})
	}
	nothing := New(nil, "f", 10, Options{Quarters: true, Summary: true})
	nothing.Set(10)
	nothing.Finish()
}
