package vmimage

import (
	"io"
)

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
