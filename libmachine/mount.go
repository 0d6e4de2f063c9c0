package libmachine

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/machine-cli/machine/sshclient"
)

// ErrNoSSHFS is wrapped by Mount's error when sshfs is not installed.
var ErrNoSSHFS = errors.New("sshfs is not installed")

// ErrNoFUSE is wrapped by Mount's error when the kernel offers no FUSE
// device.
var ErrNoFUSE = errors.New("FUSE is not available")

// fuseDevice is Linux's FUSE device, a character device (misc 10, 229).
const fuseDevice = "/dev/fuse"

// ParseMountSource reads mount's "[[user@]machine:]path": without a colon,
// the path is on the machine called "default", as in docker-machine.
func ParseMountSource(arg string) Location {
	name, path, ok := strings.Cut(arg, ":")
	if !ok {
		return Location{Machine: "default", Path: arg}
	}
	user := ""
	if at := strings.LastIndexByte(name, '@'); at >= 0 {
		user, name = name[:at], name[at+1:]
	}
	return Location{Machine: name, User: user, Path: path}
}

// Mount mounts src, a directory on a machine, on the local directory dir
// with sshfs over the system's ssh, with the machine's key, port and
// recorded host key (strictly checked). sshfs keeps running in the
// background until Unmount.
func (c *Client) Mount(ctx context.Context, src Location, dir string) error {
	sshfs, err := exec.LookPath("sshfs")
	if err != nil {
		return fmt.Errorf("mount: %w: install it (Debian and Ubuntu: apt-get install sshfs; macOS: macFUSE and its sshfs)", ErrNoSSHFS)
	}
	if err := checkFUSE(); err != nil {
		return fmt.Errorf("mount: %w", err)
	}
	if st, err := os.Stat(dir); err != nil {
		return fmt.Errorf("mount: mount point %s: %w: create the directory first", dir, unwrapPathError(err))
	} else if !st.IsDir() {
		return fmt.Errorf("mount: mount point %s is not a directory", dir)
	}
	o, err := c.OpenSSH(ctx, src.Machine, src.User)
	if err != nil {
		return fmt.Errorf("mount: %w", err)
	}
	args := SSHFSArgs(o, src.Path, dir)
	c.debugf("mount: sshfs %s", strings.Join(args, " "))
	// sshfs's ssh outlives sshfs's return and keeps its stderr: a file,
	// not a pipe that Wait would wait on.
	errFile, err := os.CreateTemp("", "machine-sshfs-*")
	if err != nil {
		return fmt.Errorf("mount: %w", err)
	}
	defer os.Remove(errFile.Name())
	defer errFile.Close()
	cmd := exec.CommandContext(ctx, sshfs, args...)
	cmd.Stderr = errFile
	if err := cmd.Run(); err != nil {
		// sshfs hides why ssh could not log in: ask ssh itself.
		if why := sshComplaint(ctx, o); why != "" {
			return fmt.Errorf("mount %s on %s: ssh cannot log in: %s", src, dir, why)
		}
		return fmt.Errorf("mount %s on %s: sshfs failed: %s", src, dir, toolMessage(errFile.Name(), err))
	}
	return nil
}

// sshComplaint logs in with the system's ssh and o's options, running
// nothing, and returns the last line ssh wrote when it failed ("Host key
// verification failed.", "Permission denied (publickey)."), or "".
func sshComplaint(ctx context.Context, o sshclient.OpenSSH) string {
	bin, err := exec.LookPath("ssh")
	if err != nil {
		return ""
	}
	args := append(o.Options(), "-o", "BatchMode=yes", "-l", o.User, o.Host, "--", "true")
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	if err == nil {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// SSHFSArgs returns sshfs's arguments (without the program's name) to
// mount path of the machine o reaches on dir, never prompting.
func SSHFSArgs(o sshclient.OpenSSH, path, dir string) []string {
	return append(o.Options(), "-o", "BatchMode=yes", o.Remote(path), dir)
}

// Unmount unmounts what is mounted on dir with fusermount3 -u, fusermount
// -u or, where neither exists (macOS), umount.
func Unmount(ctx context.Context, dir string) error {
	var cmd *exec.Cmd
	for _, tool := range []string{"fusermount3", "fusermount"} {
		if path, err := exec.LookPath(tool); err == nil {
			cmd = exec.CommandContext(ctx, path, "-u", dir)
			break
		}
	}
	if cmd == nil {
		path, err := exec.LookPath("umount")
		if err != nil {
			return errors.New("mount -u: none of fusermount3, fusermount and umount is installed: install FUSE's tools (fuse3)")
		}
		cmd = exec.CommandContext(ctx, path, dir)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		if abs, aerr := filepath.Abs(dir); aerr == nil && runtime.GOOS == "linux" && !isMountPoint(abs) && !isMountPoint(realPath(abs)) {
			return fmt.Errorf("mount -u %s: nothing is mounted there", dir)
		}
		msg := strings.Join(strings.Fields(strings.TrimSpace(string(out))), " ")
		if msg == "" {
			msg = err.Error()
		}
		return fmt.Errorf("mount -u %s: %s", dir, msg)
	}
	return nil
}

// isMountPoint reports whether Linux's /proc/self/mountinfo lists dir (an
// absolute path) as a mount point.
func isMountPoint(dir string) bool {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return true // cannot tell: let the tool's message stand
	}
	unescape := strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`)
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) > 4 && unescape.Replace(f[4]) == dir {
			return true
		}
	}
	return false
}

// realPath is path with its symbolic links resolved, or path when that
// fails.
func realPath(path string) string {
	if p, err := filepath.EvalSymlinks(path); err == nil {
		return p
	}
	return path
}

// checkFUSE reports a missing FUSE device on Linux; elsewhere sshfs says
// for itself.
func checkFUSE() error {
	if runtime.GOOS != "linux" {
		return nil
	}
	st, err := os.Stat(fuseDevice)
	if err != nil {
		return fmt.Errorf("%w: %s: %w: load the fuse kernel module (modprobe fuse), or in a container pass the device in (--device /dev/fuse)", ErrNoFUSE, fuseDevice, unwrapPathError(err))
	}
	if st.Mode()&fs.ModeCharDevice == 0 {
		return fmt.Errorf("%w: %s is not a character device: load the fuse kernel module (modprobe fuse)", ErrNoFUSE, fuseDevice)
	}
	return nil
}

// unwrapPathError drops *fs.PathError's repetition of the path.
func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// toolMessage is what a failed tool wrote to the file at path, on one line,
// or its exit error when it wrote nothing.
func toolMessage(path string, err error) string {
	data, _ := os.ReadFile(path)
	msg := strings.Join(strings.Fields(strings.TrimSpace(string(data))), " ")
	if msg == "" {
		return err.Error()
	}
	return msg
}
