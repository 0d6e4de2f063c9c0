// Package vboxstandin is a stand-in for VirtualBox's VBoxManage, for tests
// on machines without VirtualBox (the virtualbox driver's end-to-end test
// puts it first on PATH as VBoxManage, built from integration/vboxmanage).
//
// It keeps VirtualBox's registry (VMs, media, host-only interfaces and
// networks, DHCP servers) as JSON in a state directory ($VBOX_STANDIN_HOME,
// locked for each invocation and written atomically), answers the
// commands a driver uses with VirtualBox's own output formats and error
// texts, versions 7.0 and 6.1, and boots what a VM's configuration holds
// under QEMU (drivers/qemu): its disk (VDI, VMDK or raw, converted and
// resized for real with qemu-img), its DVD, its memory and CPUs, EFI or
// BIOS firmware, NIC1's NAT forwards as user-network host forwards, and a
// host-only NIC on a multicast segment per host-only interface; so a VM
// that VirtualBox could not boot does not boot here either.
//
// Settings in the state directory (settings.json, see Settings) choose the
// version and switch on VirtualBox's failures: VT-x or AMD-V held by
// another hypervisor at startvm, a session holding a VM's lock, and the
// host-only address ranges of a networks.conf.
//
// The formats come from VirtualBox's source, 6.1.36 and 7.0.10 (Pop!_OS's
// packaging of it, github.com/pop-os/virtualbox, branches master_focal and
// master_jammy), src/VBox/Frontends/VBoxManage:
//   - VBoxManageList.cpp: list vms/runningvms (compact showVMInfo),
//     hostonlyifs (listNetworkInterfaces), hostonlynets
//     (listHostOnlyNetworks, 7.0 only), dhcpservers (listDhcpServers,
//     showDhcpConfig), systemproperties (listSystemProperties);
//   - VBoxManageInfo.cpp: showvminfo --machinereadable (showVMInfo,
//     showMediumAttachments, machineStateToName);
//   - VBoxManageMisc.cpp: createvm, startvm, unregistervm, sharedfolder;
//   - VBoxManageModifyVM.cpp: modifyvm's options (g_aModifyVMOptions,
//     kept in modifyvm-options-*.txt) and its argument errors;
//   - VBoxManageDisk.cpp: convertfromraw, clonemedium, modifymedium,
//     closemedium;
//   - VBoxManageHostonly.cpp, VBoxManageDHCPServer.cpp: hostonlyif,
//     hostonlynet, dhcpserver;
//   - VBoxManageHelp.cpp: errorGetOpt, errorSyntax, errorArgument, the logo;
//   - src/VBox/Main/glue/errorprint.cpp: "VBoxManage: error: ...",
//     "Details: code ...", "Context: ... at line N of file F";
//   - src/VBox/Main/src-server (MachineImpl.cpp, VirtualBoxImpl.cpp,
//     NATEngineImpl.cpp, HostNetworkInterfaceImpl.cpp, MediumImpl.cpp)
//     and src/VBox/VMM/VMMR3/VM.cpp: the error texts and codes.
//
// Line numbers in Context lines are those of 6.1.36 and 7.0.10, at the
// line where the failed call's statement ends (as VirtualBox's builds
// report them: 6.1's startvm on a locked VM says "at line 727" for the
// LaunchVMProcess call on lines 726-727).
package vboxstandin
