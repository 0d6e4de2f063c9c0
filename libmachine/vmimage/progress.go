package vmimage

import (
	"fmt"
	"io"
	"os"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progress reports the bytes copied so far of one transfer.
type progress interface {
	io.Writer // counts bytes: Write(p) adds len(p)
	// done ends the report after a complete transfer.
	done()
}

// newProgress returns a bar on w when w is a terminal, otherwise a
// writer of a few plain lines (at every quarter of a known size). A nil w
// reports nothing.
func newProgress(w io.Writer, name string, size int64) progress {
	if w == nil {
		return discardProgress{}
	}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return &barProgress{bar: progressbar.NewOptions64(size,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription(name),
			progressbar.OptionShowBytes(true),
			progressbar.OptionUseIECUnits(true),
			progressbar.OptionThrottle(100e6), // 100 ms
			progressbar.OptionShowCount(),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionFullWidth(),
		)}
	}
	return &lineProgress{w: w, size: size}
}

// discardProgress reports nothing.
type discardProgress struct{}

func (discardProgress) Write(p []byte) (int, error) { return len(p), nil }
func (discardProgress) done()                       {}

// barProgress draws a progress bar on a terminal.
type barProgress struct{ bar *progressbar.ProgressBar }

func (b *barProgress) Write(p []byte) (int, error) { return b.bar.Write(p) }
func (b *barProgress) done()                       { _ = b.bar.Finish() }

// lineProgress writes a line at 25, 50 and 75 percent of a known size, for
// logs and pipes where a redrawn bar would be noise.
type lineProgress struct {
	w         io.Writer
	size, got int64
	quarter   int64 // the last quarter reported
}

func (l *lineProgress) Write(p []byte) (int, error) {
	l.got += int64(len(p))
	if l.size > 0 {
		for q := l.quarter + 1; q < 4 && l.got*4 >= l.size*q; q++ {
			fmt.Fprintf(l.w, "  %d%% (%s of %s)\n", q*25, formatBytes(l.size*q/4), formatBytes(l.size))
			l.quarter = q
		}
	}
	return len(p), nil
}

func (l *lineProgress) done() {}

// formatBytes renders n bytes in binary units, as the bar does.
func formatBytes(n int64) string {
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

// LineWriter returns a writer that calls emit with each complete line
// written to it, without its line ending: a Progress for a driver that
// runs as a plugin, where each line must go through the plugin's notice
// channel (drivers/plugin.Notify) rather than a terminal. Carriage-return
// redraws count as line ends, so a bar would become lines; a LineWriter is
// not a terminal, so Fetch writes plain lines to it anyway.
func LineWriter(emit func(line string)) io.Writer { return &lineWriter{emit: emit} }

type lineWriter struct {
	emit func(string)
	buf  []byte
}

func (l *lineWriter) Write(p []byte) (int, error) {
	for _, c := range p {
		if c == '\n' || c == '\r' {
			if len(l.buf) > 0 {
				l.emit(string(l.buf))
				l.buf = l.buf[:0]
			}
			continue
		}
		l.buf = append(l.buf, c)
	}
	return len(p), nil
}
