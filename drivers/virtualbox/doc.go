// Package virtualbox is the virtualbox driver: a machine is a VirtualBox VM
// booting a cloud image configured by cloud-init, made and driven with
// VBoxManage (VirtualBox 6.1 and 7.x), reached through loopback port
// forwards on its NAT NIC, with a second NIC on a host-only network where
// it has a static address (Driver).
//
// Below the driver: VBoxManage behind a Runner (the command line, or a
// recording fake in tests), parsers of its outputs (--version, showvminfo
// --machinereadable, list hostonlyifs, list dhcpservers, list hostonlynets)
// and of its errors (Error), the host-only network (one interface or
// network per CIDR, with its DHCP server), the CIDR checks made before
// anything is created (/etc/vbox/networks.conf, collisions with the host's
// interfaces), the VT-x/AMD-V check and the disk made from the cached
// image without qemu-img where VirtualBox reads the image itself.
package virtualbox
