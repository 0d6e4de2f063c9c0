package vboxstandin

import (
	"fmt"
	"io"
	"strings"
)

// Exit codes of VBoxManage (RTEXITCODE).
const (
	exitOK      = 0
	exitFailure = 1 // RTEXITCODE_FAILURE: a COM call failed
	exitSyntax  = 2 // RTEXITCODE_SYNTAX: bad arguments
)

// hresult is a COM status: its name and value as %Rhrc prints them.
type hresult struct {
	Name  string
	Value uint32
}

// The COM statuses the stand-in answers with (include/VBox/com/defs.h,
// VirtualBox.xidl's result codes).
var (
	vboxObjectNotFound    = hresult{"VBOX_E_OBJECT_NOT_FOUND", 0x80bb0001}
	vboxInvalidVMState    = hresult{"VBOX_E_INVALID_VM_STATE", 0x80bb0002}
	vboxFileError         = hresult{"VBOX_E_FILE_ERROR", 0x80bb0004}
	vboxInvalidObjectStat = hresult{"VBOX_E_INVALID_OBJECT_STATE", 0x80bb0007}
	vboxNotSupported      = hresult{"VBOX_E_NOT_SUPPORTED", 0x80bb0009}
	eInvalidArg           = hresult{"E_INVALIDARG", 0x80070057}
	eAccessDenied         = hresult{"E_ACCESSDENIED", 0x80070005}
	nsErrorFailure        = hresult{"NS_ERROR_FAILURE", 0x80004005}
)

// comError is a failed COM call as VBoxManage reports it: the error info's
// text, its Details line and the Context line of the call that failed
// (src/VBox/Main/glue/errorprint.cpp: GluePrintErrorInfo,
// GluePrintErrorContext).
type comError struct {
	Text      string
	Code      hresult
	Component string // MachineWrap, VirtualBoxWrap, ...
	Interface string // IMachine, IVirtualBox, ...
	// Callee is printed for errors of a direct COM call (nsISupports on
	// Linux and macOS); errors carried by a progress object have none.
	Callee string
	// Where is the call's context; nil for errors reported without one
	// (a progress's result).
	Where *site
}

// site is a VBoxManage source line whose call failed: its text and its
// line numbers in 6.1.36 and 7.0.10.
type site struct {
	Call   string
	File   string
	Line61 int
	Line70 int
}

// The calls whose failures the stand-in reports, by command.
var (
	siteShowVMInfoFind  = &site{"FindMachine(Bstr(VMNameOrUuid).raw(), machine.asOutParam())", "VBoxManageInfo.cpp", 2774, 3139}
	siteModifyVMFind    = &site{"FindMachine(Bstr(a->argv[0]).raw(), machine.asOutParam())", "VBoxManageModifyVM.cpp", 547, 633}
	siteModifyVMLock    = &site{"LockMachine(a->session, LockType_Write)", "VBoxManageModifyVM.cpp", 554, 640}
	siteControlVMFind   = &site{"FindMachine(Bstr(a->argv[0]).raw(), machine.asOutParam())", "VBoxManageControlVM.cpp", 383, 366}
	siteStartVMFind     = &site{"FindMachine(Bstr(pszVM).raw(), machine.asOutParam())", "VBoxManageMisc.cpp", 722, 868}
	siteStartVMLaunch   = &site{"LaunchVMProcess(a->session, sessionType.raw(), ComSafeArrayAsInParam(aBstrEnv), progress.asOutParam())", "VBoxManageMisc.cpp", 727, 881}
	siteUnregisterFind  = &site{"FindMachine(Bstr(VMName).raw(), machine.asOutParam())", "VBoxManageMisc.cpp", 150, 231}
	siteUnregister61    = &site{"Unregister(CleanupMode_DetachAllReturnHardDisksOnly, ComSafeArrayAsOutParam(aMedia))", "VBoxManageMisc.cpp", 154, 0}
	siteUnregister70    = &site{"Unregister(fDeleteAll ? CleanupMode_DetachAllReturnHardDisksAndVMRemovable :CleanupMode_DetachAllReturnHardDisksOnly, ComSafeArrayAsOutParam(aMedia))", "VBoxManageMisc.cpp", 0, 236}
	siteCreateVM61      = &site{"CreateMachine(bstrSettingsFile.raw(), bstrName.raw(), ComSafeArrayAsInParam(groups), bstrOsTypeId.raw(), createFlags.raw(), machine.asOutParam())", "VBoxManageMisc.cpp", 280, 0}
	siteCreateVM70      = &site{"CreateMachine(bstrSettingsFile.raw(), bstrName.raw(), ComSafeArrayAsInParam(groups), bstrOsTypeId.raw(), createFlags.raw(), bstrCipher.raw(), bstrPasswordId.raw(), Bstr(strPassword).raw(), machine.asOutParam())", "VBoxManageMisc.cpp", 0, 406}
	siteStorageAttFind  = &site{"FindMachine(Bstr(a->argv[0]).raw(), machine.asOutParam())", "VBoxManageStorageController.cpp", 335, 344}
	siteStorageCtlFind  = &site{"FindMachine(Bstr(a->argv[0]).raw(), machine.asOutParam())", "VBoxManageStorageController.cpp", 1045, 1054}
	siteStorageCtlLock  = &site{"LockMachine(a->session, LockType_Write)", "VBoxManageStorageController.cpp", 1048, 1057}
	siteSharedAddFind   = &site{"FindMachine(Bstr(pszMachineName).raw(), ptrMachine.asOutParam())", "VBoxManageMisc.cpp", 1161, 1647}
	siteSharedAddLock   = &site{"LockMachine(a->session, LockType_Write)", "VBoxManageMisc.cpp", 1187, 1673}
	siteSharedRmFind    = &site{"FindMachine(Bstr(pszMachineName).raw(), ptrMachine.asOutParam())", "VBoxManageMisc.cpp", 1259, 1745}
	siteSharedRmLock    = &site{"LockMachine(a->session, LockType_Write)", "VBoxManageMisc.cpp", 1283, 1769}
	siteHostOnlyIfFind  = &site{"FindHostNetworkInterfaceByName(Bstr(pszName).raw(), hif.asOutParam())", "VBoxManageHostonly.cpp", 232, 242}
	siteHostOnlyRmFind  = &site{"FindHostNetworkInterfaceByName(Bstr(pszName).raw(), hif.asOutParam())", "VBoxManageHostonly.cpp", 140, 150}
	siteHostOnlyIfStat  = &site{"EnableStaticIPConfig(Bstr(pszIp).raw(), Bstr(pszNetmask).raw())", "VBoxManageHostonly.cpp", 242, 252}
	siteHostOnlyNetAdd  = &site{"CreateHostOnlyNetwork(options.bstrNetworkName.raw(), hostOnlyNetwork.asOutParam())", "VBoxManageHostonly.cpp", 0, 430}
	siteHostOnlyNetFind = &site{"FindHostOnlyNetworkByName(strNetworkName.raw(), hostOnlyNetwork.asOutParam())", "VBoxManageHostonly.cpp", 0, 504}
	siteDHCPIfFind      = &site{"FindHostNetworkInterfaceByName(Bstr(pCtx->pszInterface).mutableRaw(), hif.asOutParam())", "VBoxManageDHCPServer.cpp", 914, 927}
	siteOpenMedium      = &site{"OpenMedium(Bstr(pszFilenameOrUuid).raw(), enmDevType, enmAccessMode, fForceNewUuidOnOpen, pMedium.asOutParam())", "VBoxManageDisk.cpp", 191, 201}
	siteModifyMedium    = &site{"RTEXITCODE handleModifyMedium(HandlerArg*)", "VBoxManageDisk.cpp", 816, 937}
)

// print writes the error as VBoxManage does, for VirtualBox 7 when v7.
func (e *comError) print(w io.Writer, v7 bool) {
	for _, line := range strings.Split(e.Text, "\n") {
		fmt.Fprintf(w, "VBoxManage: error: %s\n", line)
	}
	details := fmt.Sprintf("Details: code %s (%#x), component %s, interface %s", e.Code.Name, e.Code.Value, e.Component, e.Interface)
	if e.Callee != "" {
		details += ", callee " + e.Callee
	}
	fmt.Fprintf(w, "VBoxManage: error: %s\n", details)
	if e.Where != nil {
		printContext(w, e.Where, v7)
	}
}

// printContext writes the Context line of a failed call.
func printContext(w io.Writer, s *site, v7 bool) {
	line := s.Line61
	if v7 {
		line = s.Line70
	}
	fmt.Fprintf(w, "VBoxManage: error: Context: \"%s\" at line %d of file %s\n", s.Call, line, s.File)
}

// noInfoError is a failed call that left no error info, as VBoxManage
// reports it: "Code E_ACCESSDENIED (0x80070005) - Access denied (extended
// info not available)" and the context (GlueHandleComErrorNoCtx).
func noInfoError(w io.Writer, code hresult, meaning string, where *site, v7 bool) {
	fmt.Fprintf(w, "VBoxManage: error: Code %s (%#x) - %s (extended info not available)\n", code.Name, code.Value, meaning)
	printContext(w, where, v7)
}

// vmNotFound is IVirtualBox::FindMachine's error for a name or UUID no VM
// has (VirtualBoxImpl.cpp, i_findMachine / i_findMachineByName).
func vmNotFound(nameOrUUID string, where *site) *comError {
	text := fmt.Sprintf("Could not find a registered machine named '%s'", nameOrUUID)
	if id := strings.Trim(nameOrUUID, "{}"); isUUID(id) {
		text = fmt.Sprintf("Could not find a registered machine with UUID {%s}", strings.ToLower(id))
	}
	return &comError{Text: text, Code: vboxObjectNotFound, Component: "VirtualBoxWrap", Interface: "IVirtualBox", Callee: "nsISupports", Where: where}
}

// lockedError is IMachine::LockMachine's error for a machine another
// session holds (MachineImpl.cpp, Machine::lockMachine).
func lockedError(name string, where *site) *comError {
	return &comError{
		Text: fmt.Sprintf("The machine '%s' is already locked for a session (or being unlocked)", name),
		Code: vboxInvalidObjectStat, Component: "MachineWrap", Interface: "IMachine", Callee: "nsISupports", Where: where,
	}
}

// isUUID tells whether s has a UUID's form.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
				return false
			}
		}
	}
	return true
}
