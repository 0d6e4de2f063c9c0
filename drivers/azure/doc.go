// Package azure is the azure driver: Docker hosts on Azure virtual
// machines, created through the current Azure SDK for Go (azidentity,
// azcore and the ARM clients), with docker-machine's flags and AZURE_*
// variables. The machine binary serves it as a built-in driver.
//
// Its tests run against the SDK's own fake servers and against a local ARM
// stand-in (package azuretest); no cloud is reachable from the test
// machines.
package azure
