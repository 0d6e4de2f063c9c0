package virtualbox

// DefaultShare is the directory docker-machine shares with the VM on an
// OS, and the share's name: /Users as "Users" on macOS, C:\Users as
// "c/Users" on Windows, /home as "hosthome" elsewhere.
func DefaultShare(goos string) (dir, name string) {
	switch goos {
	case "darwin":
		return "/Users", "Users"
	case "windows":
		return `C:\Users`, "c/Users"
	}
	return "/home", "hosthome"
}

// shareNote is what --debug says about the shared folder: a cloud image has
// no VirtualBox guest additions, so the share is there but the guest does
// not mount it by itself.
const shareNote = "the share is configured in VirtualBox, but the guest mounts it only with VirtualBox's guest additions (vboxsf), which a cloud image lacks: install them in the VM (virtualbox-guest-additions-iso, or the ISO VirtualBox ships) and `mount -t vboxsf %s /mnt`, or use `machine mount` (sshfs) instead"
