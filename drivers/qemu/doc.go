// Package qemu is the qemu driver: a machine is a local VM under QEMU,
// booting a cloud image configured by cloud-init, reached through loopback
// port forwards (Driver).
//
// Below the driver, it runs a machine's virtual machine: it finds the
// binary, the UEFI firmware and an accelerator that really works (KVM on
// Linux, HVF on macOS, TCG anywhere), picks loopback ports for SSH and the
// Docker engine, launches QEMU detached from the command with its pidfile,
// QMP socket and serial log in the machine's directory, reads the VM's state
// over QMP, powers it down or quits it, and waits for it to boot with
// progress on a writer. The disk image and the cloud-init seed come from
// libmachine's image layer (vmimage, qemuimg, cloudinit).
package qemu
