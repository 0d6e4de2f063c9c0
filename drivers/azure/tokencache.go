//go:build linux || windows || (darwin && cgo)

package azure

import (
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity/cache"
)

// tokenCache returns the OS's persistent token cache (Linux: the user's
// kernel keyring encrypting a file under ~/.cache/.IdentityService; macOS: the
// keychain; Windows: DPAPI), shared by every command so that a device
// code sign-in happens once. Where the OS offers none (a Linux without a
// usable user keyring, in some containers), it returns the zero Cache,
// which keeps tokens in memory for one command, and says so.
func tokenCache() (azidentity.Cache, string) {
	c, err := cache.New(&cache.Options{Name: "machine"})
	if err != nil {
		return azidentity.Cache{}, noCacheNote(err.Error())
	}
	return c, ""
}
