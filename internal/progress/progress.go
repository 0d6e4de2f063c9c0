// Package progress reports how far a byte transfer has got: a redrawn bar
// (github.com/schollz/progressbar) when the writer is a terminal, plain
// lines otherwise, so that logs and pipes get no redraw noise.
package progress

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// Options choose the plain lines written where there is no terminal.
type Options struct {
	// Quarters writes a line at 25, 50 and 75 percent of the size.
	Quarters bool
	// Summary writes "NAME  100%  SIZE  RATE" when the transfer ends.
	Summary bool
}

// Bar is the progress of one transfer of a known size.
type Bar struct {
	w       io.Writer
	name    string
	opts    Options
	size    int64
	done    int64
	quarter int64
	start   time.Time
	bar     *progressbar.ProgressBar // nil without a terminal
}

// New starts reporting a transfer of size bytes called name on w; a size
// below zero is unknown (a spinner on a terminal, no quarter lines). A nil
// w reports nothing.
func New(w io.Writer, name string, size int64, opts Options) *Bar {
	b := &Bar{w: w, name: name, opts: opts, size: size, start: time.Now()}
	if f, ok := w.(*os.File); ok && size != 0 && term.IsTerminal(int(f.Fd())) {
		b.bar = progressbar.NewOptions64(size,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription(name),
			progressbar.OptionShowBytes(true),
			progressbar.OptionUseIECUnits(true),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionShowCount(),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionFullWidth(),
		)
	}
	return b
}

// Write counts len(p) more bytes done.
func (b *Bar) Write(p []byte) (int, error) {
	b.Set(b.done + int64(len(p)))
	return len(p), nil
}

// Set says that done bytes of the transfer are done.
func (b *Bar) Set(done int64) {
	b.done = done
	switch {
	case b.w == nil:
	case b.bar != nil:
		if b.size > 0 {
			done = min(done, b.size)
		}
		_ = b.bar.Set64(done)
	case b.opts.Quarters && b.size > 0:
		for q := b.quarter + 1; q < 4 && done*4 >= b.size*q; q++ {
			fmt.Fprintf(b.w, "  %d%% (%s of %s)\n", q*25, Bytes(b.size*q/4), Bytes(b.size))
			b.quarter = q
		}
	}
}

// Finish ends the report of a complete transfer.
func (b *Bar) Finish() {
	switch {
	case b.w == nil:
	case b.bar != nil:
		_ = b.bar.Finish()
	case b.opts.Summary:
		fmt.Fprintln(b.w, Summary(b.name, b.size, b.done, time.Since(b.start)))
	}
}

// Summary is "NAME  PCT%  DONE  RATE" for a transfer of size bytes of which
// done took elapsed.
func Summary(name string, size, done int64, elapsed time.Duration) string {
	pct := int64(100)
	if size > 0 {
		pct = done * 100 / size
	}
	rate := "-"
	if s := elapsed.Seconds(); s > 0 && done > 0 {
		rate = Bytes(int64(float64(done)/s)) + "/s"
	}
	return fmt.Sprintf("%s  %3d%%  %s  %s", name, pct, Bytes(done), rate)
}

// Bytes renders n bytes in binary units, as the bar does: "512 B",
// "1.5 MiB".
func Bytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}
