// Package azure is the azure driver: Docker hosts on Azure virtual
// machines, created through the current Azure SDK for Go (azidentity,
// azcore and the ARM clients), with docker-machine's flags and AZURE_*
// variables.
//
// Work in progress (issue 8): the driver is not yet among the built-in
// drivers; this package holds its parts as they land.
package azure
