// Package azuretest is a local ARM stand-in: an HTTPS server on 127.0.0.1,
// with its own test CA, that the azure driver's tests talk to through the
// real Azure SDK for Go (azidentity, azcore and the ARM clients) instead
// of Azure.
//
// It serves only what the driver needs, and answers as Azure does:
//
//   - sign-in for a client secret credential, as MSAL asks for it with a
//     custom authority host and instance discovery off (which the
//     credential needs: with it on, MSAL asks login.microsoftonline.com):
//     GET /{tenant}/v2.0/.well-known/openid-configuration, then POST
//     /{tenant}/oauth2/v2.0/token with grant_type=client_credentials,
//     client_id, client_secret and scope "{URL}/.default openid
//     offline_access profile"; wrong credentials get Entra's AADSTS
//     errors. ARM requests need the opaque bearer token it hands out;
//   - a user's sign-in by the device code flow, as MSAL asks for it
//     (devicecode.go): POST /{tenant}/oauth2/v2.0/devicecode, then polls of
//     the token endpoint answered authorization_pending until the test
//     approves the code (ApproveDeviceCode, or DeviceCodeOptions.ApproveAs),
//     then an access token, a refresh token, a signed ID token and
//     client_info; the refresh_token grant; Entra's expired_token,
//     authorization_declined and invalid_grant errors;
//   - resource groups, virtual networks and subnets, network security
//     groups, public IP addresses, network interfaces, availability sets,
//     virtual machines (with instance view and power actions), their OS
//     disks, VM sizes and resource SKUs, kept in memory by resource ID,
//     case-insensitively, for any api-version;
//   - long-running operations with Azure-AsyncOperation and Location
//     headers and retry-after-ms, which the SDK's pollers drive;
//   - ARM's errors: 404 ResourceNotFound and ResourceGroupNotFound, 409
//     AnotherOperationInProgress, 400 InvalidResourceReference, the in-use
//     refusals of deletions, SkuNotAvailable, and the rest.
//
// VMs are made real by Hooks: integration tests bring up test hosts in
// them; StaticHooks runs nothing, for unit tests.
//
// Where it knowingly differs from Azure: a static public IP has no
// address until the VM using it is created (its address is the host's,
// which only Hooks.CreateVM knows); VM sizes have names only; a VM naming
// a missing NIC gets the network provider's InvalidResourceReference;
// conflicting writes get AnotherOperationInProgress from compute too; the
// device code's verification page is not served (ApproveDeviceCode stands
// for it), any client ID may sign a user in, and refresh tokens never
// expire.
package azuretest
