// Package azuretest is a local ARM stand-in: an HTTPS server on 127.0.0.1,
// with its own test CA, that the azure driver's tests talk to through the
// real Azure SDK for Go (azidentity, azcore and the ARM clients) instead
// of Azure.
//
// It serves only what the driver needs, and answers as Azure does:
//
//   - sign-in for a client secret credential: the tenant's OpenID
//     configuration and the v2.0 token endpoint (client_credentials), with
//     Entra's AADSTS errors; ARM requests need its bearer token;
//   - resource groups, virtual networks and subnets, network security
//     groups, public IP addresses, network interfaces, availability sets,
//     virtual machines (with instance view and power actions), their OS
//     disks, VM sizes and resource SKUs, kept in memory by resource ID,
//     case-insensitively;
//   - long-running operations with Azure-AsyncOperation and Location
//     headers and retry-after-ms, which the SDK's pollers drive;
//   - ARM's errors: 404 ResourceNotFound and ResourceGroupNotFound, 409
//     AnotherOperationInProgress, 400 InvalidResourceReference, the in-use
//     refusals of deletions, SkuNotAvailable, and the rest.
//
// VMs are made real by Hooks: integration tests bring up test hosts in
// them; StaticHooks runs nothing, for unit tests.
package azuretest
