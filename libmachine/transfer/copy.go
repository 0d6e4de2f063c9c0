package transfer

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
)

// ErrIsDirectory is returned when the source is a directory and Options
// does not ask for a recursive copy.
var ErrIsDirectory = errors.New("is a directory (copy it with -r)")

// maxDepth bounds how deep a recursive copy descends, so that a symbolic
// link to a parent (followed, as scp follows links) ends with an error
// rather than never.
const maxDepth = 128

// readBuffer is how much of a file is asked for at once, so that an SFTP
// source reads that much with concurrent requests.
const readBuffer = 1 << 20

// writeConcurrency is how many write requests an SFTP destination keeps in
// flight per file.
const writeConcurrency = 64

// Options are the choices of one copy.
type Options struct {
	// Recursive copies directories (scp -r).
	Recursive bool
	// Progress, when set, is called as each file's content is copied: at
	// its start (Done 0), as it goes, and at its end (Done == Size).
	Progress func(Progress)
}

// Progress is how far the copy of one file is.
type Progress struct {
	Path       string // the source file, as given or found in a tree
	Size, Done int64
}

// Copy copies srcPath of src to dstPath of dst as scp does: a file to a
// directory that exists goes into it under its own name, otherwise it
// becomes dstPath (whose directory must exist); with Recursive a directory
// goes into an existing directory under its own name, or becomes dstPath
// when that does not exist. Permission bits are copied; symbolic links are
// followed. Each file is written under a temporary name and renamed into
// place, so a failed or cancelled copy never leaves a partial file; in a
// tree, the files copied before the failure stay.
func Copy(ctx context.Context, src FS, srcPath string, dst FS, dstPath string, opts Options) error {
	info, err := src.Stat(srcPath)
	if err != nil {
		return fmt.Errorf("%s: %w", src.Describe(srcPath), err)
	}
	if info.IsDir() && !opts.Recursive {
		return fmt.Errorf("%s %w", src.Describe(srcPath), ErrIsDirectory)
	}
	if !info.IsDir() && !info.Mode().IsRegular() {
		return fmt.Errorf("%s: not a regular file", src.Describe(srcPath))
	}
	target := dstPath
	dstInfo, err := dst.Stat(dstPath)
	switch {
	case err == nil && dstInfo.IsDir():
		abs, err := src.Abs(srcPath)
		if err != nil {
			return fmt.Errorf("%s: %w", src.Describe(srcPath), err)
		}
		base := src.Base(abs)
		if base == "/" || base == "." || base == "" {
			return fmt.Errorf("%s: cannot copy the root directory into %s: name a directory to copy into", src.Describe(srcPath), dst.Describe(dstPath))
		}
		target = dst.Join(dstPath, base)
	case err == nil && info.IsDir():
		return fmt.Errorf("%s is not a directory: cannot copy directory %s onto it", dst.Describe(dstPath), src.Describe(srcPath))
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s: %w", dst.Describe(dstPath), err)
	}
	c := &copier{ctx: ctx, src: src, dst: dst, opts: opts}
	if info.IsDir() {
		return c.dir(srcPath, info, target, 0)
	}
	return c.file(srcPath, info, target)
}

type copier struct {
	ctx      context.Context
	src, dst FS
	opts     Options
}

// dir copies directory srcPath into target, making target when it does not
// exist (and giving it srcPath's permissions once filled).
func (c *copier) dir(srcPath string, info fs.FileInfo, target string, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("%s: more than %d directory levels (a symbolic link loop?)", c.src.Describe(srcPath), maxDepth)
	}
	if c.ctx.Err() != nil {
		return context.Cause(c.ctx)
	}
	created := false
	switch st, err := c.dst.Stat(target); {
	case errors.Is(err, fs.ErrNotExist):
		if err := c.dst.Mkdir(target, 0o700); err != nil {
			return fmt.Errorf("%s: %w", c.dst.Describe(target), err)
		}
		created = true
	case err != nil:
		return fmt.Errorf("%s: %w", c.dst.Describe(target), err)
	case !st.IsDir():
		return fmt.Errorf("%s is not a directory: cannot copy directory %s onto it", c.dst.Describe(target), c.src.Describe(srcPath))
	}
	entries, err := c.src.ReadDir(srcPath)
	if err != nil {
		return fmt.Errorf("%s: %w", c.src.Describe(srcPath), err)
	}
	for _, e := range entries {
		from, to := c.src.Join(srcPath, e.Name()), c.dst.Join(target, e.Name())
		if e.Mode()&fs.ModeSymlink != 0 {
			if e, err = c.src.Stat(from); err != nil {
				return fmt.Errorf("%s: %w", c.src.Describe(from), err)
			}
		}
		switch {
		case e.IsDir():
			err = c.dir(from, e, to, depth+1)
		case e.Mode().IsRegular():
			err = c.file(from, e, to)
		default:
			err = fmt.Errorf("%s: not a regular file or directory", c.src.Describe(from))
		}
		if err != nil {
			return err
		}
	}
	if created {
		if err := c.dst.Chmod(target, info.Mode().Perm()); err != nil {
			return fmt.Errorf("%s: %w", c.dst.Describe(target), err)
		}
	}
	return nil
}

// file copies regular file srcPath to target through a temporary file next
// to it.
func (c *copier) file(srcPath string, info fs.FileInfo, target string) error {
	r, err := c.src.Open(srcPath)
	if err != nil {
		return fmt.Errorf("%s: %w", c.src.Describe(srcPath), err)
	}
	defer r.Close()
	w, err := c.dst.CreateTemp(target)
	if err != nil {
		return fmt.Errorf("%s: %w", c.dst.Describe(target), err)
	}
	defer w.Discard()
	report := func(int64) {}
	if c.opts.Progress != nil {
		report = func(done int64) { c.opts.Progress(Progress{Path: srcPath, Size: info.Size(), Done: done}) }
	}
	report(0)
	if err := copyData(c.ctx, w, r, report); err != nil {
		return fmt.Errorf("copy %s to %s: %w", c.src.Describe(srcPath), c.dst.Describe(target), err)
	}
	if err := w.Commit(info.Mode().Perm()); err != nil {
		return fmt.Errorf("%s: %w", c.dst.Describe(target), err)
	}
	return nil
}

// concurrentWriter is an *sftp.File: it writes what it reads from r with
// several requests in flight.
type concurrentWriter interface {
	ReadFromWithConcurrency(r io.Reader, concurrency int) (int64, error)
}

// copyData streams r into w, reporting the bytes done and stopping when
// ctx ends.
func copyData(ctx context.Context, w io.Writer, r io.Reader, report func(int64)) error {
	pr := &progressReader{ctx: ctx, r: bufio.NewReaderSize(r, readBuffer), report: report}
	var err error
	if cw, ok := w.(concurrentWriter); ok {
		_, err = cw.ReadFromWithConcurrency(pr, writeConcurrency)
	} else {
		_, err = io.Copy(w, pr)
	}
	if err != nil {
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		return err
	}
	return nil
}

// progressReader counts and reports what is read, and fails once ctx ends.
type progressReader struct {
	ctx    context.Context
	r      io.Reader
	done   int64
	report func(int64)
}

func (p *progressReader) Read(b []byte) (int, error) {
	if err := p.ctx.Err(); err != nil {
		return 0, context.Cause(p.ctx)
	}
	n, err := p.r.Read(b)
	if n > 0 {
		p.done += int64(n)
		p.report(p.done)
	}
	return n, err
}
