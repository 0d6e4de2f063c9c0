//go:build !(linux || windows || (darwin && cgo))

package azure

import "github.com/Azure/azure-sdk-for-go/sdk/azidentity"

// tokenCache: this build has no persistent token cache (macOS builds
// without cgo cannot reach the keychain).
func tokenCache() (azidentity.Cache, string) {
	return azidentity.Cache{}, noCacheNote("this build cannot reach the OS's credential store")
}
